import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget, InboundMessageAccount, KeptReads } from '../../../src/server/transport/inbound-budget.js';

/** A gRPC message: flag 0, 4-byte big-endian length, then `body` (or just the prefix declaring `length`). */
function framed(length: number, body: Buffer = Buffer.alloc(length, 0x61)): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(length, 1);
  return Buffer.concat([prefix, body]);
}

/** `bytes` as a DATA chunk of a socket read, as Node hands them over: a view of the read at `offset`. */
function chunkOf(read: ArrayBuffer, offset: number, bytes: Uint8Array): Buffer {
  const chunk = Buffer.from(read, offset, bytes.length);
  chunk.set(bytes);
  return chunk;
}

describe('InboundMessageAccount', () => {
  it('reserves a message’s declared length at its prefix and gives it back at its last byte', () => {
    const session = new ByteBudget(1000);
    const node = new ByteBudget(5000);
    const account = new InboundMessageAccount(session, node);
    assert.equal(account.feed(framed(600, Buffer.alloc(100))), 'ok');
    assert.equal(session.reservedBytes, 600);
    assert.equal(node.reservedBytes, 600);
    assert.equal(account.feed(Buffer.alloc(500)), 'ok');
    assert.equal(session.reservedBytes, 0);
    assert.equal(node.reservedBytes, 0);
  });

  it('follows prefixes split across chunks and several messages in one chunk', () => {
    const session = new ByteBudget(1000);
    const account = new InboundMessageAccount(session, new ByteBudget(-1));
    const bytes = Buffer.concat([framed(3), framed(0, Buffer.alloc(0)), framed(700, Buffer.alloc(10))]);
    for (const byte of bytes) assert.equal(account.feed(Buffer.from([byte])), 'ok');
    assert.equal(session.reservedBytes, 700, 'only the unfinished last message is held');
  });

  it('refuses a message over the session budget, and one over the node budget without keeping the session’s share', () => {
    const session = new ByteBudget(1000);
    const node = new ByteBudget(1500);
    const first = new InboundMessageAccount(session, node);
    assert.equal(first.feed(framed(800, Buffer.alloc(1))), 'ok');
    assert.equal(new InboundMessageAccount(session, node).feed(framed(300, Buffer.alloc(1))), 'session');
    assert.equal(session.reservedBytes, 800);

    const otherSession = new ByteBudget(1000);
    assert.equal(new InboundMessageAccount(otherSession, node).feed(framed(900, Buffer.alloc(1))), 'node');
    assert.equal(otherSession.reservedBytes, 0);
    assert.equal(node.reservedBytes, 800);
  });

  it('a closed stream gives back what its unfinished message held, once', () => {
    const session = new ByteBudget(1000);
    const node = new ByteBudget(1000);
    const account = new InboundMessageAccount(session, node);
    account.feed(framed(900, Buffer.alloc(10)));
    account.close();
    account.close();
    assert.equal(session.reservedBytes, 0);
    assert.equal(node.reservedBytes, 0);
    assert.equal(account.feed(framed(5000)), 'ok', 'bytes after close are not accounted');
    assert.equal(session.reservedBytes, 0);
  });

  it('a message complete within its chunk is handed on, never reserved: a full budget accepts it, as the http2 transport does', () => {
    const session = new ByteBudget(1000);
    const node = new ByteBudget(-1);
    assert.equal(new InboundMessageAccount(session, node).feed(framed(1000, Buffer.alloc(1))), 'ok');
    const account = new InboundMessageAccount(session, node);
    assert.equal(account.feed(Buffer.concat([framed(600), framed(300), framed(0, Buffer.alloc(0))])), 'ok');
    assert.equal(session.reservedBytes, 1000, 'only the first stream’s unfinished message');
    assert.equal(new InboundMessageAccount(session, node).feed(framed(1, Buffer.alloc(0))), 'session', 'one that spans chunks still needs room');
  });

  it("'until-closed' (a unary request) keeps a complete message's reservation until close()", () => {
    const session = new ByteBudget(1000);
    const node = new ByteBudget(1000);
    const account = new InboundMessageAccount(session, node, 'until-closed');
    assert.equal(account.feed(framed(600)), 'ok');
    assert.equal(session.reservedBytes, 600, 'complete, not yet handed on');
    assert.equal(new InboundMessageAccount(session, node).feed(framed(600, Buffer.alloc(1))), 'session', 'a second one does not fit beside it');
    account.close();
    assert.equal(session.reservedBytes, 0);
    assert.equal(node.reservedBytes, 0);
  });

  it('with KeptReads, reads unfinished messages keep are reserved beyond their declared lengths, each read once however many streams keep it', () => {
    const session = new ByteBudget(20_000);
    const node = new ByteBudget(-1);
    const keptReads = new KeptReads(session, node);
    const first = new InboundMessageAccount(session, node, 'while-arriving', keptReads);
    const second = new InboundMessageAccount(session, node, 'while-arriving', keptReads);
    const shared = new ArrayBuffer(4000);
    assert.equal(first.feed(chunkOf(shared, 0, framed(1000, Buffer.alloc(10)))), 'ok');
    assert.equal(session.reservedBytes, 1000 + 3000, 'declared 1,000, and the 4,000-byte read beyond it');
    assert.equal(second.feed(chunkOf(shared, 100, framed(1000, Buffer.alloc(10)))), 'ok');
    assert.equal(session.reservedBytes, 2000 + 3000, 'the shared read counted once');
    // A byte per read, each read 8,000 bytes of other frames (the drip).
    assert.equal(first.feed(Buffer.from(new ArrayBuffer(8000), 0, 1)), 'ok');
    assert.equal(first.feed(Buffer.from(new ArrayBuffer(8000), 0, 1)), 'ok');
    assert.equal(session.reservedBytes, 2000 + 18_000);
    assert.equal(first.feed(Buffer.from(new ArrayBuffer(8000), 0, 1)), 'session', 'a read past the budget');
    first.close();
    assert.equal(session.reservedBytes, 1000 + 3000, 'the shared read stays kept by the second');
    assert.equal(second.feed(Buffer.alloc(990)), 'ok');
    assert.equal(session.reservedBytes, 0, 'the second complete: no read kept');
  });

  it("with KeptReads and 'until-closed', a complete message keeps its declared length but no read (grpc-js copied it)", () => {
    const session = new ByteBudget(100_000);
    const node = new ByteBudget(-1);
    const account = new InboundMessageAccount(session, node, 'until-closed', new KeptReads(session, node));
    assert.equal(account.feed(chunkOf(new ArrayBuffer(64_000), 0, framed(3000, Buffer.alloc(10)))), 'ok');
    assert.equal(session.reservedBytes, 64_000);
    assert.equal(account.feed(Buffer.alloc(2990)), 'ok');
    assert.equal(session.reservedBytes, 3000);
    account.close();
    assert.equal(session.reservedBytes, 0);
    assert.equal(node.reservedBytes, 0);
  });

  it('a negative limit is no limit', () => {
    const budget = new ByteBudget(-1);
    assert.equal(budget.tryReserve(Number.MAX_SAFE_INTEGER / 2), true);
  });
});
