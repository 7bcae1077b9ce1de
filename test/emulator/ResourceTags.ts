import { ArmError } from './armError.js';
import { describe } from './faultRules.js';

/**
 * Resource tags as Azure Resource Manager keeps them, and the two ways the app reaches them: the resource list's
 * `$filter=tagName eq '…' and tagValue eq '…'` and the Tags API at a resource's scope
 * (`{resourceId}/providers/Microsoft.Resources/tags/default`).
 *
 * Azure's rules (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources, "Limitations";
 * https://learn.microsoft.com/rest/api/resources/tags): at most 50 tags per resource, names at most 512 characters
 * without `< > % & \ ? /`, values at most 256; tag names are case-insensitive for operations, values are
 * case-sensitive.
 */

/** A resource's tags, names in the casing they were first given. */
export type Tags = Record<string, string>;

/** How the resource list's `tagValue eq` compares values (README "Assumptions"). */
export type TagValueMatch = 'caseSensitive' | 'caseInsensitive';

/** What a resource list's `$filter` asks for (the subset the emulator models). */
export type ResourceFilter =
  | { kind: 'none' }
  | { kind: 'tag'; tagName: string; tagValue?: string }
  | { kind: 'resourceType'; resourceType: string };

/** Thrown for a bad tag or tags body; the message names the field. */
export class TagError extends Error {
  override name = 'TagError';
}

const MAX_TAGS = 50;
const MAX_NAME_LENGTH = 512;
const MAX_VALUE_LENGTH = 256;
// eslint-disable-next-line no-control-regex
const RESERVED_NAME_CHARACTERS = /[<>%&\\?/\u0000-\u001f]/;

/** An OData string literal: single-quoted, a quote inside doubled. */
const LITERAL = "'((?:[^']|'')*)'";
const TAG_FILTER = new RegExp(
  `^\\s*tagName\\s+eq\\s+${LITERAL}(?:\\s+and\\s+tagValue\\s+eq\\s+${LITERAL})?\\s*$`,
  'i',
);
const TYPE_FILTER = new RegExp(`^\\s*resourceType\\s+eq\\s+${LITERAL}\\s*$`, 'i');
/** Properties Resources - List documents for `$filter` besides tags and resourceType (not modelled here). */
const OTHER_FILTER_WORDS =
  /\b(location|name|resourceGroup|identity|plan|substringof|tagName|tagValue|resourceType)\b/i;

/**
 * Reads a resource list's `$filter`. ARM allows a tag filter alone (`tagName eq 'n'`, optionally `and tagValue eq
 * 'v'`) and refuses it combined with anything else, `resourceType` included: the combinations it documents are
 * "substringof and/or resourceType, plan and plan/publisher and plan/name, identity and identity/principalId"
 * (https://learn.microsoft.com/rest/api/resources/resources/list-by-resource-group, `$filter`), and a tag filter
 * with a resourceType or resourceGroup answers 400 `InvalidFilterInQueryString` "Invalid $filter '…' specified in
 * the query string." (Azure/azure-rest-api-specs#21324, Azure/azure-cli#7674, Azure/azure-powershell#293).
 * Filters Azure accepts but the emulator does not model (location, name, substringof…) answer the same 400, the
 * message saying so.
 */
export function parseResourceFilter(filter: string | null): ResourceFilter {
  if (filter === null || filter.trim() === '') return { kind: 'none' };
  const tag = TAG_FILTER.exec(filter);
  if (tag) {
    const tagName = unquote(tag[1]!);
    return tag[2] === undefined
      ? { kind: 'tag', tagName }
      : { kind: 'tag', tagName, tagValue: unquote(tag[2]) };
  }
  const type = TYPE_FILTER.exec(filter);
  if (type) return { kind: 'resourceType', resourceType: unquote(type[1]!) };
  const invalid = `Invalid $filter '${filter}' specified in the query string.`;
  const combinesTags = /\btag(Name|Value)\b/i.test(filter);
  throw new ArmError(
    400,
    'InvalidFilterInQueryString',
    combinesTags || !OTHER_FILTER_WORDS.test(filter)
      ? invalid
      : `${invalid} (The emulator models only "tagName eq '…' [and tagValue eq '…']" and "resourceType eq '…'".)`,
  );
}

function unquote(literal: string): string {
  return literal.replace(/''/g, "'");
}

/** Whether a resource with `tags` and `type` passes `filter`. */
export function matchesFilter(
  resource: { type: string; tags: Tags },
  filter: ResourceFilter,
  valueMatch: TagValueMatch,
): boolean {
  switch (filter.kind) {
    case 'none':
      return true;
    case 'resourceType':
      return resource.type.toLowerCase() === filter.resourceType.toLowerCase();
    case 'tag': {
      const name = findTagName(resource.tags, filter.tagName);
      if (name === undefined) return false;
      if (filter.tagValue === undefined) return true;
      const value = resource.tags[name]!;
      return valueMatch === 'caseSensitive'
        ? value === filter.tagValue
        : value.toLowerCase() === filter.tagValue.toLowerCase();
    }
  }
}

/** The stored name of a tag, matched case-insensitively as ARM does. */
export function findTagName(tags: Tags, name: string): string | undefined {
  return Object.keys(tags).find((k) => k.toLowerCase() === name.toLowerCase());
}

/** Checks an untrusted tag set (registration or a Tags API body); throws {@link TagError} naming the field. */
export function checkTags(input: unknown, field: string): Tags {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TagError(`${field} must be an object of tag names to string values, found ${describe(input)}`);
  }
  const tags: Tags = {};
  for (const [name, value] of Object.entries(input as Record<string, unknown>)) {
    if (name === '' || name.length > MAX_NAME_LENGTH || RESERVED_NAME_CHARACTERS.test(name)) {
      throw new TagError(
        `${field} has the tag name ${describe(name)}: names are 1-${MAX_NAME_LENGTH} characters without < > % & \\ ? /`,
      );
    }
    if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH) {
      throw new TagError(
        `${field}.${name} must be a string of at most ${MAX_VALUE_LENGTH} characters, found ${describe(value)}`,
      );
    }
    const existing = findTagName(tags, name);
    if (existing !== undefined) {
      throw new TagError(`${field} names the tag "${name}" twice (tag names are case-insensitive)`);
    }
    tags[name] = value;
  }
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new TagError(`${field} has ${Object.keys(tags).length} tags; a resource holds at most ${MAX_TAGS}`);
  }
  return tags;
}

/** The operations of Tags - Update At Scope. */
const PATCH_OPERATIONS = ['Merge', 'Replace', 'Delete'] as const;

/**
 * Applies a Tags - Update At Scope body (`{ operation, properties: { tags } }`) to a resource's tags and returns
 * the new set. 'Merge' adds new names and updates existing ones (an existing name keeps its casing), 'Replace'
 * replaces the whole set, 'Delete' removes the given names: a given value removes the tag only when it is the
 * tag's value, an empty one whatever its value (the docs say "based on given names or name/value pairs"; how a
 * mismatching value is treated is the emulator's choice). A bad body → 400 `InvalidRequestContent` naming the
 * field (the emulator's code); a result over 50 tags → 400 `BadRequest`.
 */
export function applyTagPatch(current: Tags, body: unknown): Tags {
  const bad = (message: string): ArmError => new ArmError(400, 'InvalidRequestContent', message);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad(
      `The request body must be an object { operation, properties: { tags } }, found ${describe(body)}.`,
    );
  }
  const b = body as { operation?: unknown; properties?: { tags?: unknown } };
  const operation = PATCH_OPERATIONS.find(
    (o) => typeof b.operation === 'string' && o.toLowerCase() === b.operation.toLowerCase(),
  );
  if (!operation) {
    throw bad(`'operation' must be one of ${PATCH_OPERATIONS.join(', ')}, found ${describe(b.operation)}.`);
  }
  let given: Tags;
  try {
    given = checkTags(b.properties?.tags ?? {}, 'properties.tags');
  } catch (e) {
    if (e instanceof TagError) throw bad(`${e.message}.`);
    throw e;
  }
  let next: Tags;
  switch (operation) {
    case 'Replace':
      next = { ...given };
      break;
    case 'Merge':
      next = { ...current };
      for (const [name, value] of Object.entries(given)) next[findTagName(next, name) ?? name] = value;
      break;
    case 'Delete':
      next = { ...current };
      for (const [name, value] of Object.entries(given)) {
        const stored = findTagName(next, name);
        if (stored !== undefined && (value === '' || next[stored] === value)) delete next[stored];
      }
      break;
  }
  if (Object.keys(next).length > MAX_TAGS) {
    throw new ArmError(400, 'BadRequest', `A resource can have at most ${MAX_TAGS} tags.`);
  }
  return next;
}
