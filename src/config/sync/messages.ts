/**
 * Config's member-to-member message (docs/config.md, A cluster on MySQL): a member that changed a
 * key tells the others to re-read it from the shared database. Named and shaped as Nacos 2.x's
 * ConfigChangeClusterSyncRequest (dataId, group, tenant, lastModified; its tag and isBeta are read
 * only to ignore a beta or tag config's change), sent between our members only.
 */
import { z } from 'zod';
import { bodyParser } from '../../cluster/member-messages.js';
import { defineRequestType, defineResponseType, type MessageTypeDefinition } from '../../protocol/index.js';

export const CONFIG_SYNC_MODULE = 'config';

const nonBlank = z.string().trim().min(1);

const ConfigChangeAnnouncementSchema = z.object({
  dataId: nonBlank,
  group: nonBlank,
  tenant: z.string().default(''),
  /** When the change was made, epoch ms (informational: the receiver reads the database). */
  lastModified: z.number().int().min(0),
  /** Nacos 2.2.4 also says whether a beta or tag config changed: we keep neither, so such a change is ignored. */
  tag: z.string().optional(),
  beta: z.boolean().optional(),
});

export type ConfigChangeAnnouncement = z.infer<typeof ConfigChangeAnnouncementSchema>;

export const ConfigChangeClusterSyncRequest = defineRequestType<'ConfigChangeClusterSyncRequest', ConfigChangeAnnouncement>('ConfigChangeClusterSyncRequest', {
  module: CONFIG_SYNC_MODULE,
  parseBody: bodyParser(ConfigChangeAnnouncementSchema),
});
export const ConfigChangeClusterSyncResponse = defineResponseType('ConfigChangeClusterSyncResponse');

/** Both ends' message types. */
export const CONFIG_SYNC_TYPES: readonly MessageTypeDefinition[] = [ConfigChangeClusterSyncRequest, ConfigChangeClusterSyncResponse];
