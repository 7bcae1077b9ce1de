import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  REPO_ROOT,
  bicepParser,
  grammarText,
  loadInfra,
  modules,
  parameterAssignments,
  parameters,
  property,
  syntaxProblems,
} from './bicepTree.js';
import type { BicepFile } from './bicepTree.js';

let files: BicepFile[];
const file = (path: string): BicepFile => {
  const found = files.find((f) => f.path === path);
  if (!found) throw new Error(`${path} not found under infra/`);
  return found;
};

beforeAll(async () => {
  files = await loadInfra();
});

describe('infra syntax', () => {
  it('has the entry point, the sample parameters and one module per concern', () => {
    const paths = files.map((f) => f.path);
    expect(paths).toContain('infra/main.bicep');
    expect(paths).toContain('infra/main.bicepparam');
    expect(paths.filter((p) => p.startsWith('infra/modules/')).length).toBeGreaterThanOrEqual(6);
  });

  it('parses every .bicep and .bicepparam file without an ERROR or MISSING node', () => {
    const problems = files.flatMap((f) => syntaxProblems(f.root).map((p) => `${f.path}:${p}`));
    expect(problems).toEqual([]);
  });

  it('reports the line and column of a syntax error', async () => {
    const parser = await bicepParser();
    const tree = parser.parse("param a string\nresource x 'T@1' = {\n  name: \n");
    expect(tree).not.toBeNull();
    const problems = syntaxProblems(tree!.rootNode);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatch(/^\d+:\d+ /);
  });

  it('reads .bicepparam assignments with their positions unchanged', () => {
    const text = "using './main.bicep'\nparam a = 'x'\n";
    expect(grammarText(text, 'bicepparam')).toHaveLength(text.length);
    expect(grammarText(text, 'bicep')).toBe(text);
  });

  it('targets the subscription from main.bicep', () => {
    expect(file('infra/main.bicep').text).toMatch(/^targetScope = 'subscription'$/m);
  });

  it('uses only local modules (no registry modules)', () => {
    for (const f of files) {
      for (const m of modules(f)) {
        expect(m.path, `${f.path}: module ${m.symbol}`).toMatch(/^(\.\/)?[\w./-]+\.bicep$/);
        expect(existsSync(join(REPO_ROOT, dirname(f.path), m.path)), `${f.path}: ${m.path}`).toBe(true);
      }
    }
  });

  it('passes every module only parameters it declares, and all it requires', () => {
    for (const f of files) {
      for (const m of modules(f)) {
        const target = file(join(dirname(f.path), m.path).split('\\').join('/'));
        const declared = parameters(target);
        const passed = (m.params?.namedChildren ?? [])
          .filter((p) => p.type === 'object_property')
          .map((p) => p.namedChildren[0]?.text ?? '');
        const where = `${f.path}: module ${m.symbol} (${m.path})`;
        expect(
          passed.filter((p) => !declared.some((d) => d.name === p)),
          `${where} passes unknown parameters`,
        ).toEqual([]);
        expect(
          declared.filter((d) => !d.hasDefault && !passed.includes(d.name)).map((d) => d.name),
          `${where} misses required parameters`,
        ).toEqual([]);
      }
    }
  });

  it('sets in main.bicepparam only parameters main.bicep declares, and every required one', () => {
    const declared = parameters(file('infra/main.bicep'));
    const assigned = parameterAssignments(file('infra/main.bicepparam'));
    expect(assigned.length).toBeGreaterThan(0);
    expect(assigned.filter((a) => !declared.some((d) => d.name === a))).toEqual([]);
    expect(declared.filter((d) => !d.hasDefault && !assigned.includes(d.name)).map((d) => d.name)).toEqual(
      [],
    );
  });

  it('points main.bicepparam at main.bicep', () => {
    expect(file('infra/main.bicepparam').text).toMatch(/^using '\.\/main\.bicep'$/m);
  });

  it('describes every parameter with @description', () => {
    const undocumented = files
      .filter((f) => f.kind === 'bicep')
      .flatMap((f) =>
        parameters(f)
          .filter((p) => !p.decorators.includes('description'))
          .map((p) => `${f.path}: ${p.name}`),
      );
    expect(undocumented).toEqual([]);
    expect(files.flatMap((f) => (f.kind === 'bicep' ? parameters(f) : [])).length).toBeGreaterThan(30);
  });

  it('outputs no secure parameter and nothing named like a secret', () => {
    for (const f of files.filter((x) => x.kind === 'bicep')) {
      const secure = parameters(f)
        .filter((p) => p.decorators.includes('secure'))
        .map((p) => p.name);
      for (const output of f.root.descendantsOfType('output_declaration')) {
        const name = output.namedChildren[0]?.text ?? '';
        expect(name, `${f.path}: output ${name}`).not.toMatch(/key|secret|password|connection|sas|token/i);
        const used = output.descendantsOfType('identifier').map((i) => i.text);
        expect(
          used.filter((u) => secure.includes(u)),
          `${f.path}: output ${name}`,
        ).toEqual([]);
      }
    }
  });

  it('keeps module params objects readable by the checks', () => {
    // Guards the checks above against a grammar change that would make them vacuous.
    const main = file('infra/main.bicep');
    const functionApp = modules(main).find((m) => m.symbol === 'functionApp');
    expect(property(functionApp?.params, 'allowedScopes')).toBeDefined();
  });
});
