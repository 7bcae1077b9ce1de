import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Node } from 'web-tree-sitter';
import { REPO_ROOT, literalString, modules, parameters, resources, variable } from './bicepTree.js';
import type { BicepFile, ResourceDeclaration } from './bicepTree.js';

/**
 * A Bicep type check without the Bicep compiler: every property path a resource body in `infra/` sets is walked
 * through the published type definition of its `type@apiVersion` (test/fixtures/bicep-types/, from
 * Azure/bicep-types-az). Reported, as Bicep would flag them (BCP035/036/037/073, BCP081 for an unknown type):
 * an unknown property, a value of the wrong kind, a value outside a closed enum, a missing Required property, a
 * ReadOnly property set, a bad discriminator, and a `type@apiVersion` with no definition.
 */

/** The folder holding the type definitions. */
export const BICEP_TYPES_DIR = join(REPO_ROOT, 'test/fixtures/bicep-types');

/** bicep-types PropertyFlags. */
const REQUIRED = 1;
const READ_ONLY = 2;

interface TypeRef {
  $ref: string;
}
interface TypeProperty {
  type: TypeRef;
  flags: number;
}
type BicepType =
  | {
      $type: 'ObjectType';
      name: string;
      properties: Record<string, TypeProperty>;
      additionalProperties?: TypeRef;
    }
  | {
      $type: 'DiscriminatedObjectType';
      name: string;
      discriminator: string;
      baseProperties: Record<string, TypeProperty>;
      elements: Record<string, TypeRef>;
    }
  | { $type: 'ArrayType'; itemType: TypeRef }
  | { $type: 'UnionType'; elements: TypeRef[] }
  | { $type: 'StringLiteralType'; value: string }
  | { $type: 'StringType' }
  | { $type: 'IntegerType' }
  | { $type: 'BooleanType' }
  | { $type: 'AnyType' }
  | { $type: 'NullType' }
  | { $type: string };

/** One extract of test/fixtures/bicep-types. */
export interface TypeExtract {
  name: string;
  typeAvailable?: boolean;
  types?: BicepType[];
  expectedShape?: Record<string, unknown>;
}

/** A problem found, with where it is. */
export interface TypeProblem {
  file: string;
  line: number;
  resource: string;
  path: string;
  kind:
    | 'unknownType'
    | 'noTypeDefinition'
    | 'unknownProperty'
    | 'wrongKind'
    | 'enumValue'
    | 'missingRequired'
    | 'readOnlySet'
    | 'discriminator'
    | 'unknownParameter'
    | 'missingParameter';
  message: string;
}

/** The type definitions by lower-cased `type@apiVersion`. */
export function loadTypeLibrary(dir = BICEP_TYPES_DIR): Map<string, TypeExtract> {
  const library = new Map<string, TypeExtract>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json') && f.includes('@'))) {
    const extract = JSON.parse(readFileSync(join(dir, file), 'utf8')) as TypeExtract;
    library.set(extract.name.toLowerCase(), extract);
  }
  return library;
}

/** Keys of a resource body that are Bicep syntax, not properties of the type. */
const BICEP_KEYWORDS = new Set(['scope', 'parent', 'dependsOn']);

type ValueKind = 'string' | 'int' | 'bool' | 'object' | 'array' | 'null';

/**
 * Checks every module call in `files` against the module's own `param` declarations: each name passed exists
 * (BCP037) and each parameter without a default is passed (BCP035), with a value of its declared kind.
 */
export function checkModuleParams(files: BicepFile[]): TypeProblem[] {
  const problems: TypeProblem[] = [];
  for (const file of files.filter((f) => f.kind === 'bicep')) {
    for (const m of modules(file)) {
      const dir = file.path.split('/').slice(0, -1).join('/');
      const targetPath = [dir, m.path].join('/').replace(/\/[^/]+\/\.\.\//g, '/');
      const target = files.find((f) => f.path === targetPath);
      if (!target) continue;
      const declared = parameters(target);
      const passed = new Map<string, Node>();
      for (const p of m.params?.namedChildren.filter((c) => c.type === 'object_property') ?? []) {
        const key = p.namedChildren[0];
        if (key) passed.set(key.type === 'string' ? (literalString(key) ?? key.text) : key.text, p);
      }
      const at = (node: Node, path: string, kind: TypeProblem['kind'], message: string) =>
        problems.push({
          file: file.path,
          line: node.startPosition.row + 1,
          resource: m.symbol,
          path,
          kind,
          message,
        });
      for (const [name, node] of passed) {
        const param = declared.find((d) => d.name === name);
        if (!param) {
          at(
            node,
            `params.${name}`,
            'unknownParameter',
            `params.${name}: ${m.path} has no parameter ${name}`,
          );
          continue;
        }
        const expected = paramType(target, name);
        const value = node.namedChildren[1];
        const found = value ? (literalKind(value) ?? paramType(file, value.text)) : undefined;
        if (expected && found && expected !== found) {
          at(node, `params.${name}`, 'wrongKind', `params.${name}: expected ${expected}, found ${found}`);
        }
      }
      for (const param of declared.filter((d) => !d.hasDefault && !passed.has(d.name))) {
        at(
          m.params ?? file.root,
          `params.${param.name}`,
          'missingParameter',
          `params.${param.name}: ${m.path} requires it`,
        );
      }
    }
  }
  return problems;
}

function literalKind(node: Node): ValueKind | undefined {
  return (
    {
      string: 'string',
      number: 'int',
      boolean: 'bool',
      object: 'object',
      array: 'array',
      null: 'null',
    } as Record<string, ValueKind>
  )[node.type];
}

/** Checks every resource declared in `files`; the problems Bicep would report. */
export function checkBicepTypes(files: BicepFile[], library: Map<string, TypeExtract>): TypeProblem[] {
  return files
    .filter((f) => f.kind === 'bicep')
    .flatMap((f) => resources(f).flatMap((r) => checkResource(f, r, library)));
}

function checkResource(
  file: BicepFile,
  r: ResourceDeclaration,
  library: Map<string, TypeExtract>,
): TypeProblem[] {
  const problems: TypeProblem[] = [];
  const at = (node: Node, path: string, kind: TypeProblem['kind'], message: string) =>
    problems.push({
      file: file.path,
      line: node.startPosition.row + 1,
      resource: r.symbol,
      path,
      kind,
      message,
    });
  const name = `${r.type}@${r.apiVersion}`;
  const extract = library.get(name.toLowerCase());
  if (!extract) {
    at(r.node, '', 'unknownType', `no type definition for ${name} in test/fixtures/bicep-types (BCP081)`);
    return problems;
  }
  if (extract.typeAvailable === false || !extract.types) {
    // Bicep itself checks nothing here (BCP081, a warning); the documented shape is checked instead.
    at(
      r.node,
      '',
      'noTypeDefinition',
      `${name} has no published type definition (BCP081): checked against its documented shape`,
    );
    const allowed = new Set(['name', 'properties', ...Object.keys(extract.expectedShape ?? {})]);
    walkShape(r.body, '', allowed, at);
    return problems;
  }
  const types = extract.types;
  const resolve = (ref: TypeRef): BicepType => {
    const index = Number(ref.$ref.replace('#/', ''));
    const t = types[index];
    if (!t) throw new Error(`${name}: dangling type reference ${ref.$ref}`);
    return t;
  };
  const seenVars = new Set<string>();

  const kindOf = (node: Node): ValueKind | undefined => {
    switch (node.type) {
      case 'string':
        return 'string';
      case 'number':
        return 'int';
      case 'boolean':
        return 'bool';
      case 'object':
        return 'object';
      case 'array':
      case 'for_statement':
        return 'array';
      case 'null':
        return 'null';
      case 'identifier': {
        const declared = paramType(file, node.text);
        if (declared) return declared;
        return undefined;
      }
      default:
        return undefined;
    }
  };

  const accepts = (type: BicepType, kind: ValueKind): boolean => {
    switch (type.$type) {
      case 'ObjectType':
      case 'DiscriminatedObjectType':
        return kind === 'object';
      case 'ArrayType':
        return kind === 'array';
      case 'StringType':
      case 'StringLiteralType':
        return kind === 'string';
      case 'IntegerType':
        return kind === 'int';
      case 'BooleanType':
        return kind === 'bool';
      case 'NullType':
        return kind === 'null';
      case 'UnionType':
        return (type as { elements: TypeRef[] }).elements.some((e) => accepts(resolve(e), kind));
      default:
        return true; // AnyType and anything the checker does not model
    }
  };

  const kindName = (type: BicepType): string => {
    switch (type.$type) {
      case 'UnionType':
        return (type as { elements: TypeRef[] }).elements.map((e) => kindName(resolve(e))).join(' | ');
      case 'StringLiteralType':
        return `'${(type as { value: string }).value}'`;
      default:
        return type.$type.replace(/Type$/, '').replace('DiscriminatedObject', 'Object');
    }
  };

  /** The allowed literals of a string enum, and whether other strings are accepted too. */
  const enumOf = (type: BicepType): { values: string[]; open: boolean } | undefined => {
    if (type.$type === 'StringLiteralType')
      return { values: [(type as { value: string }).value], open: false };
    if (type.$type !== 'UnionType') return undefined;
    const members = (type as { elements: TypeRef[] }).elements.map(resolve);
    const values = members.flatMap((m) =>
      m.$type === 'StringLiteralType' ? [(m as { value: string }).value] : [],
    );
    if (values.length === 0) return undefined;
    return { values, open: members.some((m) => m.$type === 'StringType' || m.$type === 'AnyType') };
  };

  const walkValue = (node: Node, type: BicepType, path: string): void => {
    if (node.type === 'parenthesized_expression') {
      const inner = node.namedChildren[0];
      if (inner) walkValue(inner, type, path);
      return;
    }
    if (node.type === 'ternary_expression') {
      for (const branch of node.namedChildren.slice(1)) walkValue(branch, type, path);
      return;
    }
    if (node.type === 'identifier' && !paramType(file, node.text)) {
      // A variable of this file: its value is checked where it is used.
      const value = variable(file, node.text);
      if (value && !seenVars.has(`${node.text}@${path}`)) {
        seenVars.add(`${node.text}@${path}`);
        walkValue(value, type, path);
      }
      return;
    }
    const kind = kindOf(node);
    if (kind !== undefined && !accepts(type, kind)) {
      at(node, path, 'wrongKind', `${path}: expected ${kindName(type)}, found ${kind}`);
      return;
    }
    const values = enumOf(type);
    const literal = literalString(node);
    if (values && !values.open && literal !== undefined && !values.values.includes(literal)) {
      at(
        node,
        path,
        'enumValue',
        `${path}: '${literal}' is not one of ${values.values.map((v) => `'${v}'`).join(', ')}`,
      );
    }
    if (type.$type === 'UnionType' && (kind === 'object' || kind === 'array')) {
      const member = (type as { elements: TypeRef[] }).elements.map(resolve).find((m) => accepts(m, kind));
      if (member) walkValue(node, member, path);
      return;
    }
    if (node.type === 'object' && (type.$type === 'ObjectType' || type.$type === 'DiscriminatedObjectType')) {
      walkObject(node, type, path, false);
    } else if (type.$type === 'ArrayType') {
      const item = resolve((type as { itemType: TypeRef }).itemType);
      if (node.type === 'array')
        for (const element of node.namedChildren) walkValue(element, item, `${path}[]`);
      if (node.type === 'for_statement') {
        const body = node.namedChildren[node.namedChildren.length - 1];
        if (body) walkValue(body, item, `${path}[]`);
      }
    }
  };

  const walkObject = (node: Node, type: BicepType, path: string, top: boolean): void => {
    let properties: Record<string, TypeProperty>;
    let additional: TypeRef | undefined;
    if (type.$type === 'DiscriminatedObjectType') {
      const d = type as Extract<BicepType, { $type: 'DiscriminatedObjectType' }>;
      const valueNode = propertyNode(node, d.discriminator);
      const value = literalString(valueNode);
      const element = value === undefined ? undefined : d.elements[value];
      if (value !== undefined && !element) {
        at(
          valueNode ?? node,
          `${path}${d.discriminator}`,
          'discriminator',
          `${join2(path, d.discriminator)}: '${value}' is not one of ${Object.keys(d.elements)
            .map((k) => `'${k}'`)
            .join(', ')}`,
        );
        return; // Bicep stops at the bad variant: its properties are unknown
      }
      if (value === undefined && !valueNode) {
        at(
          node,
          join2(path, d.discriminator),
          'missingRequired',
          `${join2(path, d.discriminator)}: the discriminator is required`,
        );
      }
      const variant = element ? resolve(element) : undefined;
      properties = {
        ...d.baseProperties,
        ...(variant && variant.$type === 'ObjectType'
          ? (variant as unknown as { properties: Record<string, TypeProperty> }).properties
          : {}),
      };
    } else {
      const o = type as Extract<BicepType, { $type: 'ObjectType' }>;
      properties = o.properties;
      additional = o.additionalProperties;
    }
    const present = new Set<string>();
    for (const p of node.namedChildren.filter((c) => c.type === 'object_property')) {
      const keyNode = p.namedChildren[0];
      const value = p.namedChildren[1];
      if (!keyNode || !value) continue;
      const key = keyNode.type === 'string' ? (literalString(keyNode) ?? keyNode.text) : keyNode.text;
      present.add(key);
      if (top && BICEP_KEYWORDS.has(key)) continue;
      const childPath = join2(path, key);
      const prop = properties[key];
      if (!prop) {
        if (additional) walkValue(value, resolve(additional), childPath);
        else at(keyNode, childPath, 'unknownProperty', `${childPath}: not a property of ${typeName(type)}`);
        continue;
      }
      if (prop.flags & READ_ONLY && !(prop.flags & REQUIRED)) {
        at(keyNode, childPath, 'readOnlySet', `${childPath}: is read-only`);
        continue;
      }
      walkValue(value, resolve(prop.type), childPath);
    }
    if (top && r.existing) return;
    for (const [key, prop] of Object.entries(properties)) {
      if (prop.flags & REQUIRED && !(prop.flags & READ_ONLY) && !present.has(key)) {
        at(
          node,
          join2(path, key),
          'missingRequired',
          `${join2(path, key)}: is required by ${typeName(type)}`,
        );
      }
    }
  };

  walkObject(r.body, types[0] as BicepType, '', true);
  return problems;
}

function walkShape(
  node: Node,
  path: string,
  allowed: Set<string>,
  at: (node: Node, path: string, kind: TypeProblem['kind'], message: string) => void,
): void {
  for (const p of node.namedChildren.filter((c) => c.type === 'object_property')) {
    const key = p.namedChildren[0]?.text ?? '';
    const value = p.namedChildren[1];
    const childPath = join2(path, key);
    if (!path && BICEP_KEYWORDS.has(key)) continue;
    if (!allowed.has(childPath)) {
      at(p, childPath, 'unknownProperty', `${childPath}: not in the documented shape`);
    } else if (value?.type === 'object') {
      walkShape(value, childPath, allowed, at);
    }
  }
}

function join2(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function typeName(type: BicepType): string {
  return (type as { name?: string }).name ?? type.$type;
}

function propertyNode(object: Node, key: string): Node | undefined {
  for (const p of object.namedChildren) {
    if (p.type !== 'object_property') continue;
    const k = p.namedChildren[0];
    const name = k?.type === 'string' ? literalString(k) : k?.text;
    if (name === key) return p.namedChildren[1] ?? undefined;
  }
  return undefined;
}

/** The declared primitive type of a `param` of the file, as a value kind. */
function paramType(file: BicepFile, name: string): ValueKind | undefined {
  const declaration = file.root
    .descendantsOfType('parameter_declaration')
    .find((d) => d.namedChildren[0]?.text === name);
  const primitive = declaration?.namedChildren[1]?.text;
  switch (primitive) {
    case 'string':
      return 'string';
    case 'int':
      return 'int';
    case 'bool':
      return 'bool';
    case 'object':
      return 'object';
    case 'array':
      return 'array';
    default:
      return undefined;
  }
}
