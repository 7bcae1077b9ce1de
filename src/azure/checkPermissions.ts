import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createEmptyPipeline,
  createPipelineRequest,
  RestError,
} from '@azure/core-rest-pipeline';

/** api-version of Permissions - List (https://learn.microsoft.com/rest/api/authorization/permissions). */
const PERMISSIONS_API_VERSION = '2022-04-01';

/** One entry of a permissions list: the actions granted, minus the `notActions`. */
export interface PermissionEntry {
  actions: string[];
  notActions: string[];
}

/**
 * Whether `action` is allowed by a permissions list, as ARM evaluates it: some entry has an `actions` pattern that
 * matches it (`*` matches any run of characters, case-insensitively) and no `notActions` pattern of that same
 * entry matches it.
 * https://learn.microsoft.com/azure/role-based-access-control/role-definitions#actions
 */
export function isActionAllowed(action: string, entries: readonly PermissionEntry[]): boolean {
  const matches = (pattern: string) =>
    new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i').test(action);
  return entries.some((e) => e.actions.some(matches) && !e.notActions.some(matches));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Options for {@link listPermissions}. */
export interface ListPermissionsOptions {
  abortSignal?: AbortSignal;
}

/**
 * What the caller may do at an ARM scope (a resource group or a resource id): `GET
 * {scope}/providers/Microsoft.Authorization/permissions`. A read with no side effect, which is why `doctor` probes
 * with it instead of trying the writes. The token goes to `armEndpoint` only (https, from the settings).
 */
export async function listPermissions(
  credential: TokenCredential,
  armEndpoint: string,
  scope: string,
  options: ListPermissionsOptions = {},
): Promise<PermissionEntry[]> {
  const endpoint = new URL(armEndpoint);
  if (endpoint.protocol !== 'https:')
    throw new Error(`ARM_ENDPOINT must be https, found ${endpoint.protocol}`);
  const pipeline = createEmptyPipeline();
  pipeline.addPolicy(
    // The audience the ARM SDK clients ask for with this endpoint.
    bearerTokenAuthenticationPolicy({ credential, scopes: `${endpoint.origin}/.default` }),
  );
  const url = `${endpoint.origin}${scope.replace(/\/+$/, '')}/providers/Microsoft.Authorization/permissions?api-version=${PERMISSIONS_API_VERSION}`;
  const request = createPipelineRequest({
    url,
    method: 'GET',
    abortSignal: options.abortSignal,
    timeout: 30_000,
  });
  const response = await pipeline.sendRequest(createDefaultHttpClient(), request);
  let body: unknown;
  try {
    body = response.bodyAsText ? JSON.parse(response.bodyAsText) : undefined;
  } catch {
    body = undefined;
  }
  if (response.status !== 200) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new RestError(error?.message ?? `permissions list answered ${response.status}`, {
      statusCode: response.status,
      code: error?.code,
    });
  }
  const value = (body as { value?: unknown } | undefined)?.value;
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
  return (Array.isArray(value) ? value : []).map((e: unknown) => ({
    actions: strings((e as { actions?: unknown }).actions),
    notActions: strings((e as { notActions?: unknown }).notActions),
  }));
}
