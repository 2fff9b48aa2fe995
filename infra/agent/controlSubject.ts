/**
 * `umbra.ctl.<tenant>.<instanceId>`: where an instance's agent answers control requests. It belongs in
 * `domain/subjects.ts` (the one subject builder); it waits here until that file's owner moves it.
 */
export const controlSubject = (tenant: string, instanceId: string) => `umbra.ctl.${tenant}.${instanceId}`
