/** How a topic's value schema is named in the registry (Confluent's subject name strategies). */
export const SubjectNameStrategies = ['topic', 'record', 'topic-record'] as const;
export type SubjectNameStrategy = (typeof SubjectNameStrategies)[number];

/**
 * The subject of a topic's values: TopicNameStrategy `<topic>-value`, RecordNameStrategy `<record full name>`,
 * TopicRecordNameStrategy `<topic>-<record full name>`.
 */
export function valueSubject(strategy: SubjectNameStrategy, topic: string, recordFullName: string): string {
  if (strategy === 'topic') return `${topic}-value`;
  if (strategy === 'record') return recordFullName;
  return `${topic}-${recordFullName}`;
}
