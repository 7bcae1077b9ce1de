import type { GatewayCallOptions } from './captureGateway.js';

/**
 * What finding ring VMs (and the operator's `ring enable|disable`) asks Azure Resource Manager: the resources that
 * carry a tag, the subscriptions the caller can see, and a VM's tags. Separate from `CaptureGateway`, whose
 * callers (the webhook, the poller's records, the in-memory fake) never need it; `NetworkWatcherGateway`
 * implements both with the same clients and retry policy.
 */
export interface RingTagGateway {
  /**
   * The resources of one scope (a subscription or resource-group id) whose tag `tag.name` has the value
   * `tag.value`, every resource type, read page by page up to `maxResults`.
   */
  listTaggedResources(
    scope: string,
    tag: TagRef,
    options?: ListTaggedResourcesOptions,
  ): Promise<TaggedResourceList>;
  /** The ids of the subscriptions the caller can see (Subscriptions - List), up to `maxResults`. */
  listSubscriptions(options?: ListSubscriptionsOptions): Promise<SubscriptionList>;
  /** A resource's tags (Tags - Get At Scope). */
  getTags(resourceId: string, options?: GatewayCallOptions): Promise<Record<string, string>>;
  /** Sets one tag on a resource, leaving its other tags as they are (Tags - Update At Scope, `Merge`). */
  setTag(resourceId: string, tag: TagRef, options?: GatewayCallOptions): Promise<void>;
  /**
   * Removes one tag, whatever the casing of its name (Tags - Update At Scope, `Delete` of that tag with its
   * current value); `false` when the resource had no such tag.
   */
  removeTag(resourceId: string, tagName: string, options?: GatewayCallOptions): Promise<boolean>;
}

/** A tag name and value. Names compare case-insensitively in ARM. */
export interface TagRef {
  name: string;
  value: string;
}

/** Options for {@link RingTagGateway.listTaggedResources}. */
export interface ListTaggedResourcesOptions extends GatewayCallOptions {
  /** Stop reading pages once this many resources were read (`complete` is then false). Default 5000. */
  maxResults?: number;
}

/** Options for {@link RingTagGateway.listSubscriptions}. */
export interface ListSubscriptionsOptions extends GatewayCallOptions {
  /** Stop reading pages once this many subscriptions were read (`complete` is then false). Default 1000. */
  maxResults?: number;
}

/**
 * A resource as the tag-filtered list gives it. ARM leaves the resource's tags out of a tag-filtered list
 * (https://learn.microsoft.com/rest/api/resources/resources/list, `$filter`), so there are none here.
 */
export interface TaggedResource {
  /** The id as ARM gave it (its casing). */
  id: string;
  name?: string;
  /** e.g. `Microsoft.Compute/virtualMachines`. */
  type?: string;
  location?: string;
}

/** The tagged resources of a scope; `complete` false when the list had more than `maxResults`. */
export interface TaggedResourceList {
  resources: TaggedResource[];
  complete: boolean;
}

/** Subscription ids; `complete` false when there were more than `maxResults`. */
export interface SubscriptionList {
  subscriptionIds: string[];
  complete: boolean;
}
