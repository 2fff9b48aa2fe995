import { jetstream, jetstreamManager } from "@nats-io/jetstream"
import type { NatsConnection } from "@nats-io/transport-node"
import { streamNames } from "../../infra/nats/jetstreamSetup.ts"

const lastSeqOn = async (nc: NatsConnection, subject: string) =>
  (await (await jetstreamManager(nc)).streams.getMessage(streamNames.signals, { last_by_subj: subject }))?.seq ?? 0

/**
 * Publishes one message and returns its sequence once JetStream has stored it. UMBRA_SIGNALS answers no
 * publish (`no_ack`), so a signal's sequence is read back from the stream: one publisher per subject at a time.
 */
export const publishStored = async (nc: NatsConnection, subject: string, body: string | Uint8Array): Promise<number> => {
  if (!subject.startsWith("umbra.sig.")) return (await jetstream(nc).publish(subject, body)).seq
  const before = await lastSeqOn(nc, subject)
  nc.publish(subject, body)
  await nc.flush()
  for (let attempt = 0; attempt < 500; attempt++) {
    const seq = await lastSeqOn(nc, subject)
    if (seq > before) return seq
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`${subject}: not stored within 5 s`)
}

/**
 * Where UMBRA_SIGNALS stands now: the sequence the next signal gets, and a wait until `count` more are
 * stored (after the publisher's flush), for publishers that send core NATS as agents do.
 */
export const signalsMark = async (nc: NatsConnection) => {
  const jsm = await jetstreamManager(nc)
  const lastSeq = async () => (await jsm.streams.info(streamNames.signals)).state.last_seq
  const before = await lastSeq()
  const whenStored = async (count: number) => {
    await nc.flush()
    const deadline = Date.now() + 60_000
    for (;;) {
      const last = await lastSeq()
      if (last >= before + count) return last
      if (Date.now() > deadline) throw new Error(`UMBRA_SIGNALS holds ${last - before} of ${count} signals after 60 s`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { first: before + 1, whenStored }
}

/** Publishes signals and waits until UMBRA_SIGNALS holds them all: their first and last sequence. */
export const publishSignals = async (nc: NatsConnection, messages: ReadonlyArray<{ readonly subject: string; readonly body: string | Uint8Array }>) => {
  const mark = await signalsMark(nc)
  for (const { subject, body } of messages) nc.publish(subject, body)
  return { first: mark.first, last: await mark.whenStored(messages.length) }
}
