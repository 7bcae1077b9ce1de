import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Language, Parser } from 'web-tree-sitter';
import type { Node } from 'web-tree-sitter';

/**
 * Offline reading of `infra/` with the tree-sitter Bicep grammar: no Bicep compiler can be installed here, so the
 * tests check the syntax tree and the content instead (`az bicep build` and a what-if stay manual checks).
 */

/** Repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The folder holding the Bicep deployment. */
export const INFRA_DIR = join(REPO_ROOT, 'infra');

/** One parsed `.bicep` or `.bicepparam` file. */
export interface BicepFile {
  /** Path relative to the repository root, with forward slashes. */
  path: string;
  kind: 'bicep' | 'bicepparam';
  text: string;
  root: Node;
}

/** A `resource` declaration. */
export interface ResourceDeclaration {
  symbol: string;
  type: string;
  apiVersion: string;
  existing: boolean;
  /** The object literal that declares the resource (inside `if`/`for` when there is one). */
  body: Node;
  node: Node;
}

/** A `param` declaration with its decorators. */
export interface ParameterDeclaration {
  name: string;
  decorators: string[];
  hasDefault: boolean;
  node: Node;
}

let parserPromise: Promise<Parser> | undefined;

/** A parser for the Bicep grammar shipped by `tree-sitter-bicep`, loaded once per test file. */
export function bicepParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    await Parser.init();
    const require = createRequire(import.meta.url);
    const wasmPath = join(require.resolve('tree-sitter-bicep/package.json'), '..', 'tree-sitter-bicep.wasm');
    const language = await Language.load(wasmPath);
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
  })();
  return parserPromise;
}

/**
 * Text the grammar can read. tree-sitter-bicep 1.1 has no `.bicepparam` rules: there `param name = value` has no
 * type, which the grammar requires. `var   name = value` has the same shape and the same length, so every other
 * construct is still parsed as written and positions stay exact.
 */
export function grammarText(text: string, kind: BicepFile['kind']): string {
  return kind === 'bicepparam' ? text.replace(/^param /gm, 'var   ') : text;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(full);
    return /\.bicep(param)?$/.test(entry.name) ? [full] : [];
  });
}

/** Parses every `.bicep` and `.bicepparam` file under `infra/`. */
export async function loadInfra(): Promise<BicepFile[]> {
  const parser = await bicepParser();
  return listFiles(INFRA_DIR)
    .sort()
    .map((full) => {
      const kind = full.endsWith('.bicepparam') ? 'bicepparam' : 'bicep';
      const text = readFileSync(full, 'utf8');
      const tree = parser.parse(grammarText(text, kind));
      if (!tree) throw new Error(`tree-sitter returned no tree for ${full}`);
      return { path: relative(REPO_ROOT, full).split('\\').join('/'), kind, text, root: tree.rootNode };
    });
}

/** Every ERROR or MISSING node, as `line:column` (1-based) with what the parser saw there. */
export function syntaxProblems(root: Node): string[] {
  const problems: string[] = [];
  const visit = (node: Node): void => {
    if (node.isError || node.isMissing) {
      const where = `${node.startPosition.row + 1}:${node.startPosition.column + 1}`;
      const what = node.isMissing ? `missing ${node.type}` : `unexpected "${node.text.slice(0, 40)}"`;
      problems.push(`${where} ${what}`);
    }
    for (const child of node.children) visit(child);
  };
  visit(root);
  return problems;
}

/** The value of a string literal without interpolation, else `undefined`. */
export function literalString(node: Node | null | undefined): string | undefined {
  if (node?.type !== 'string') return undefined;
  if (node.namedChildren.some((c) => c.type === 'interpolation')) return undefined;
  const quoted = node.text;
  return quoted.startsWith("'''") ? quoted.slice(3, -3) : quoted.slice(1, -1).replace(/\\'/g, "'");
}

function propertyKey(property: Node): string | undefined {
  const key = property.namedChildren[0];
  if (!key) return undefined;
  return key.type === 'string' ? literalString(key) : key.text;
}

/** The value node of `key` directly inside the object literal `object`. */
export function property(object: Node | null | undefined, key: string): Node | undefined {
  if (object?.type !== 'object') return undefined;
  for (const p of object.namedChildren) {
    if (p.type === 'object_property' && propertyKey(p) === key) return p.namedChildren[1] ?? undefined;
  }
  return undefined;
}

/** Follows `a.b.c` through nested object literals. */
export function propertyPath(object: Node | null | undefined, path: string): Node | undefined {
  let current: Node | undefined = object ?? undefined;
  for (const key of path.split('.')) current = property(current, key);
  return current;
}

/** Every value node of a property named `key`, anywhere below `root`. */
export function propertiesNamed(root: Node, key: string): Node[] {
  return root.descendantsOfType('object_property').flatMap((p) => {
    const value = p.namedChildren[1];
    return propertyKey(p) === key && value ? [value] : [];
  });
}

function declarationBody(node: Node): Node | undefined {
  const tail = node.namedChildren[node.namedChildren.length - 1];
  if (!tail) return undefined;
  if (tail.type === 'object') return tail;
  if (tail.type === 'for_statement') {
    const body = tail.childForFieldName('body') ?? tail.namedChildren[tail.namedChildren.length - 1];
    return body?.type === 'object' ? body : body ? declarationBody(body) : undefined;
  }
  if (tail.type === 'if_statement') return tail.namedChildren.find((c) => c.type === 'object');
  return undefined;
}

/** Every `resource` declaration in a file, nested ones included. */
export function resources(file: BicepFile): ResourceDeclaration[] {
  return file.root.descendantsOfType('resource_declaration').map((node) => {
    const [symbol, typeNode] = node.namedChildren;
    const typeAndVersion = literalString(typeNode) ?? '';
    const [type = '', apiVersion = ''] = typeAndVersion.split('@');
    const body = declarationBody(node);
    if (!body) throw new Error(`${file.path}: resource ${symbol?.text ?? '?'} has no object body`);
    return {
      symbol: symbol?.text ?? '',
      type,
      apiVersion,
      existing: node.children.some((c) => c.type === 'existing'),
      body,
      node,
    };
  });
}

/** Every `module` declaration: its local path and its `params` object. */
export function modules(file: BicepFile): { symbol: string; path: string; params: Node | undefined }[] {
  return file.root.descendantsOfType('module_declaration').map((node) => {
    const [symbol, pathNode] = node.namedChildren;
    return {
      symbol: symbol?.text ?? '',
      path: literalString(pathNode) ?? '',
      params: property(declarationBody(node), 'params'),
    };
  });
}

/** Every `param` declaration with the names of the decorators written above it. */
export function parameters(file: BicepFile): ParameterDeclaration[] {
  return file.root.descendantsOfType('parameter_declaration').map((node) => {
    let previous = node.previousNamedSibling;
    while (previous && (previous.type === 'comment' || previous.type === 'diagnostic_comment')) {
      previous = previous.previousNamedSibling;
    }
    const decorators =
      previous?.type === 'decorators'
        ? previous.namedChildren.map((d) => d.namedChildren[0]?.childForFieldName('function')?.text ?? '')
        : [];
    return {
      name: node.namedChildren[0]?.text ?? '',
      decorators,
      hasDefault: node.children.some((c) => c.type === '='),
      node,
    };
  });
}

/** The parameter names a `.bicepparam` file sets (`param name = value`). */
export function parameterAssignments(file: BicepFile): string[] {
  return file.root
    .descendantsOfType('variable_declaration')
    .filter((node) => file.text.startsWith('param ', node.startIndex))
    .map((node) => node.namedChildren[0]?.text ?? '');
}

/** The value expression of `var name = ...` in a file. */
export function variable(file: BicepFile, name: string): Node | undefined {
  const declaration = file.root
    .descendantsOfType('variable_declaration')
    .find((node) => node.namedChildren[0]?.text === name);
  return declaration?.namedChildren[1] ?? undefined;
}

/** Every string literal (no interpolation) below `node`, in source order. */
export function literalStrings(node: Node): string[] {
  const found = node.type === 'string' ? [node] : node.descendantsOfType('string');
  return found.flatMap((s) => {
    const v = literalString(s);
    return v === undefined ? [] : [v];
  });
}

/**
 * The literal strings an expression can produce: literals, and identifiers that name a `var` of the same file
 * (followed through `concat`, ternaries and arrays). Enough for the role action lists and container names.
 */
export function resolveStrings(file: BicepFile, node: Node | undefined, seen = new Set<string>()): string[] {
  if (!node) return [];
  if (node.type === 'identifier') {
    if (seen.has(node.text)) return [];
    seen.add(node.text);
    return resolveStrings(file, variable(file, node.text), seen);
  }
  if (node.type === 'string') {
    const literal = literalString(node);
    if (literal !== undefined) return [literal];
    // 'prefix${name}suffix' where name is a var holding a literal.
    let out = '';
    for (const part of node.namedChildren) {
      if (part.type === 'string_content' || part.type === 'escape_sequence') out += part.text;
      else if (part.type === 'interpolation') {
        const inner = part.namedChildren[0];
        const values = resolveStrings(file, inner ?? undefined, seen);
        if (values.length !== 1) return [];
        out += values[0];
      }
    }
    return [out];
  }
  if (node.type === 'ternary_expression') {
    // condition ? a : b → both branches.
    return node.namedChildren.slice(1).flatMap((c) => resolveStrings(file, c, seen));
  }
  return node.namedChildren.flatMap((c) => resolveStrings(file, c, seen));
}

/** The text of every argument of the call `fn(...)` below `root`. */
export function callArguments(root: Node, fn: string): string[][] {
  return root
    .descendantsOfType('call_expression')
    .filter((call) => call.childForFieldName('function')?.text === fn)
    .map((call) => call.childForFieldName('arguments')?.namedChildren.map((a) => a.text) ?? []);
}
