/**
 * api-versions the emulator accepts, per resource provider: those @azure/arm-network 36 (2025-05-01) and the spec
 * examples (2025-07-01 … 2026-03-01) send, and recent Microsoft.Compute versions for the VM and extension calls the
 * app makes through @azure/arm-resources.
 */
export const NETWORK_API_VERSIONS: readonly string[] = [
  '2023-09-01',
  '2023-11-01',
  '2024-01-01',
  '2024-03-01',
  '2024-05-01',
  '2024-07-01',
  '2024-10-01',
  '2025-01-01',
  '2025-03-01',
  '2025-05-01',
  '2025-07-01',
  '2025-09-01',
  '2026-01-01',
  '2026-03-01',
];

/** Microsoft.Compute api-versions accepted for virtual machines and their extensions. */
export const COMPUTE_API_VERSIONS: readonly string[] = [
  '2022-03-01',
  '2022-08-01',
  '2022-11-01',
  '2023-03-01',
  '2023-07-01',
  '2023-09-01',
  '2024-03-01',
  '2024-07-01',
  '2024-11-01',
  '2025-04-01',
];

/** Microsoft.Authorization api-versions accepted for the permissions list. */
export const AUTHORIZATION_API_VERSIONS: readonly string[] = ['2015-07-01', '2018-07-01', '2022-04-01'];

/**
 * Microsoft.Resources api-versions accepted for the resource list and the Tags API: the stable versions from
 * 2021-04-01 (the first whose Resources - List documents the tag filter as today) to 2025-04-01, what
 * @azure/arm-resources 7 sends.
 */
export const RESOURCES_API_VERSIONS: readonly string[] = [
  '2021-04-01',
  '2022-09-01',
  '2023-07-01',
  '2024-03-01',
  '2024-07-01',
  '2024-11-01',
  '2025-03-01',
  '2025-04-01',
];

/** Api-versions accepted for Subscriptions - List: 2022-12-01 is what @azure/arm-resources-subscriptions 3 sends. */
export const SUBSCRIPTIONS_API_VERSIONS: readonly string[] = [
  '2016-06-01',
  '2020-01-01',
  '2021-01-01',
  '2022-12-01',
];

/** The App Service managed identity protocol version. */
export const MSI_API_VERSION = '2019-08-01';

/**
 * First Microsoft.Network api-version whose spec pages network watcher and packet capture lists with `nextLink`.
 * Older specs declare `"nextLinkName": null` (one response with every item), and @azure/arm-network 36
 * (2025-05-01) has no code to follow a nextLink for these lists, so the emulator pages only from this version on.
 * 2025-07-01 is the first version of the TypeSpec layout the reference excerpt comes from; the exact boundary
 * was not verified against older swagger files.
 */
export const FIRST_PAGED_NETWORK_API_VERSION = '2025-07-01';
