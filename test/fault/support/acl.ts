/**
 * ACLs on a broker that enforces them (startOwnBroker(log, { authorizer: true })): one operation denied to
 * User:ANONYMOUS — every PLAINTEXT client, the broker's own connections included — and the denial taken back.
 */
import kafkajs, { type AclEntry } from 'kafkajs';
import { createKafka, withTimeout } from '../../support/kafka.js';

// kafkajs is CommonJS and Node finds no named export for these enums.
export const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
export type AclOperation = (typeof AclOperationTypes)[keyof typeof AclOperationTypes];
export type AclResource = (typeof AclResourceTypes)[keyof typeof AclResourceTypes];
export type PatternType = (typeof ResourcePatternTypes)[keyof typeof ResourcePatternTypes];

/** A resource and the one operation to refuse on it. */
export interface Denied {
  resourceType: AclResource;
  resourceName: string;
  resourcePatternType: PatternType;
  operation: AclOperation;
}

/** Everything allowed on the resource but the operation: DENY wins over ALLOW, and the ALLOW keeps DESCRIBE etc. */
export function denial(r: Denied): AclEntry[] {
  const base = { resourceType: r.resourceType, resourceName: r.resourceName, resourcePatternType: r.resourcePatternType, principal: 'User:ANONYMOUS', host: '*' };
  return [
    // A resource with any ACL is closed to everyone not allowed by one (allow.everyone.if.no.acl.found no longer applies).
    { ...base, operation: AclOperationTypes.ALL, permissionType: AclPermissionTypes.ALLOW },
    { ...base, operation: r.operation, permissionType: AclPermissionTypes.DENY },
  ];
}

export async function changeAcls(brokers: string[], change: 'create' | 'delete', acls: AclEntry[]): Promise<void> {
  const admin = createKafka(brokers).admin();
  await admin.connect();
  try {
    if (change === 'create') await admin.createAcls({ acl: acls });
    else await admin.deleteAcls({ filters: acls });
  } finally {
    await withTimeout(admin.disconnect(), 10_000, 'admin disconnect');
  }
}
