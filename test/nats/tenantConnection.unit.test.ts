import { assert, describe, it } from "@effect/vitest"
import { mayAnswerOn } from "../../infra/nats/tenantConnection.ts"

describe("answering a request", () => {
  it("only on Umbra's inbox, a service import's response subject, or the inbox of the tenant the subject names", () => {
    for (const reply of ["_INBOX.abc.1", "_R_.x1.y2", "_INBOX_acme.abc.1"]) assert.isTrue(mayAnswerOn("umbra.cmd.acme.ConnectClient", reply), reply)
    // A requester in Umbra's account could name any subject: another tenant's events, its inbox, a stream's subject.
    for (const reply of ["umbra.evt.beta.client.x", "_INBOX_beta.abc.1", "_INBOX_acmex.1", "umbra.sig.acme.i.hb", "_INBOX_acme", ""]) {
      assert.isFalse(mayAnswerOn("umbra.cmd.acme.ConnectClient", reply), reply)
    }
    assert.isFalse(mayAnswerOn("umbra.query", "_INBOX_.x"))
  })
})
