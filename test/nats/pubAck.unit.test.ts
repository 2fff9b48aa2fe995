import { assert, describe, it } from "@effect/vitest"
import { readPubAck } from "../../infra/nats/pubAck.ts"

describe("readPubAck", () => {
  it("reads a stored message and a duplicate", () => {
    assert.deepStrictEqual(readPubAck('{"stream":"UMBRA_EVENTS","seq":7}'), { _tag: "Stored", duplicate: false })
    assert.deepStrictEqual(readPubAck('{"stream":"UMBRA_EVENTS","seq":7,"duplicate":true}'), { _tag: "Stored", duplicate: true })
  })

  it("reads a refusal before its stream and seq, which it carries too", () => {
    const full = '{"error":{"code":503,"err_code":10023,"description":"insufficient resources"},"stream":"UMBRA_EVENTS","seq":0}'
    assert.deepStrictEqual(readPubAck(full), { _tag: "Refused", reason: "503/10023 insufficient resources" })
    assert.deepStrictEqual(readPubAck('{"error":{"code":400,"description":"wrong last msg ID: a"}}'), { _tag: "Refused", reason: "400 wrong last msg ID: a" })
  })

  it("counts nothing it cannot read as stored", () => {
    for (const text of ["", "not json", "null", "[]", '{"stream":"S"}', '{"stream":"S","seq":"1"}', '{"stream":"S","seq":1,"duplicate":"yes"}', '{"error":"boom","stream":"S","seq":0}', '{"error":{"code":"503","description":"x"}}']) {
      assert.strictEqual(readPubAck(text)._tag, "Undecodable", text)
    }
  })
})
