import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameDecoder, FrameError, FrameProblem, framed, prefixOf, type FrameReceiver } from '../../../src/server/transport/frame-decoder.js';

/** A receiver that records messages and holds, with an optional budget for held bytes. */
class Recorder implements FrameReceiver {
  readonly messages: Buffer[] = [];
  held = 0;
  maxHeld = 0;
  constructor(private readonly budget = Infinity) {}
  onMessage(message: Buffer): void {
    this.messages.push(Buffer.from(message));
  }
  holdStarted(declaredBytes: number): boolean {
    if (this.held + declaredBytes > this.budget) return false;
    this.held += declaredBytes;
    this.maxHeld = Math.max(this.maxHeld, this.held);
    return true;
  }
  holdEnded(declaredBytes: number): void {
    this.held -= declaredBytes;
  }
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

/** What a kept message pins: its ArrayBuffer when that is more than twice its size (a pool slab), else its own bytes. */
function pinnedBytes(message: Buffer): number {
  return message.buffer.byteLength > 2 * message.length ? message.buffer.byteLength : message.length;
}

function expectProblem(problem: string) {
  return (error: unknown) => error instanceof FrameError && error.problem === problem && error.code === 'GRPC_FRAME';
}

describe('FrameDecoder', () => {
  it('decodes any messages however DATA chunks split them, prefixes included, and holds nothing after', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, cuts) => {
          const wire = Buffer.concat(messages.map((m) => framed(m)));
          const recorder = new Recorder();
          const decoder = new FrameDecoder(1024, recorder);
          for (const chunk of splitAt(wire, cuts)) decoder.push(chunk);
          assert.deepEqual(recorder.messages.map((m) => [...m]), messages.map((m) => [...m]));
          assert.equal(decoder.pending, false);
          assert.equal(recorder.held, 0);
        },
      ),
    );
  });

  it('hands a message inside one chunk over as a view of it, without a copy', () => {
    const wire = framed(Buffer.from('hello'));
    let seen: Buffer | undefined;
    const decoder = new FrameDecoder(1024, { onMessage: (m) => (seen = m), holdStarted: () => true, holdEnded: () => undefined });
    decoder.push(wire);
    assert.equal(seen?.buffer, wire.buffer);
    assert.equal(seen?.toString(), 'hello');
  });

  it('keeps no view of a chunk: a message spanning chunks, and with until-closed one kept from a larger read, are copied out', () => {
    // Node's DATA chunks are views of a whole socket read: a view kept pins all of it.
    const read = Buffer.alloc(64 * 1024);
    const kept: Buffer[] = [];
    const receiver = { onMessage: (m: Buffer) => void kept.push(m), holdStarted: () => true, holdEnded: () => undefined };
    const spanning = framed(Buffer.from('abc'));
    read.set(spanning);
    const arriving = new FrameDecoder(1024, receiver);
    for (let i = 0; i < spanning.length; i++) arriving.push(read.subarray(i, i + 1));
    const large = framed(Buffer.alloc(Buffer.poolSize, 0x62));
    read.set(large, 100);
    new FrameDecoder(2 * Buffer.poolSize, receiver, 'until-closed').push(read.subarray(100, 100 + large.length));
    const small = framed(Buffer.from('whole'));
    read.set(small, 100);
    new FrameDecoder(1024, receiver, 'until-closed').push(read.subarray(100, 100 + small.length));
    assert.deepEqual(kept.map((m) => m.toString()), ['abc', 'b'.repeat(Buffer.poolSize), 'whole']);
    for (const message of kept) assert.notEqual(message.buffer, read.buffer);
    assert.deepEqual(kept.slice(0, 2).map((m) => m.buffer.byteLength), [3, Buffer.poolSize], 'each in an ArrayBuffer of its own size');
    // A small kept message goes into Node's Buffer pool: no ArrayBuffer of its own per request.
    assert.equal(kept[2]!.buffer.byteLength, Buffer.poolSize, 'a slice of the shared pool');
  });

  it('reports a truncated message as pending, and dispose releases what it held', () => {
    const recorder = new Recorder();
    const decoder = new FrameDecoder(1024, recorder);
    decoder.push(framed(Buffer.alloc(100)).subarray(0, 50));
    assert.equal(decoder.pending, true);
    assert.equal(recorder.held, 100);
    decoder.dispose();
    assert.equal(recorder.held, 0);
    assert.equal(decoder.pending, false);
  });

  it('a partial prefix is pending too', () => {
    const decoder = new FrameDecoder(1024, new Recorder());
    decoder.push(Buffer.from([0, 0]));
    assert.equal(decoder.pending, true);
  });

  it('refuses a declared length over the limit from its prefix alone', () => {
    const decoder = new FrameDecoder(1024, new Recorder());
    assert.throws(() => decoder.push(prefixOf(1025)), expectProblem(FrameProblem.TOO_LARGE));
    const exact = new Recorder();
    new FrameDecoder(1024, exact).push(framed(Buffer.alloc(1024)));
    assert.equal(exact.messages.length, 1);
  });

  it('refuses the compressed flag, and any other flag but 0', () => {
    const compressed = framed(Buffer.from('x'));
    compressed[0] = 1;
    assert.throws(() => new FrameDecoder(1024, new Recorder()).push(compressed), expectProblem(FrameProblem.COMPRESSED));
    const bad = framed(Buffer.from('x'));
    bad[0] = 7;
    assert.throws(() => new FrameDecoder(1024, new Recorder()).push(bad), expectProblem(FrameProblem.BAD_FLAG));
  });

  it('refuses to hold an unfinished message the receiver has no budget for', () => {
    const recorder = new Recorder(500);
    const decoder = new FrameDecoder(1024, recorder);
    // Whole messages in one chunk are never held, whatever their size.
    decoder.push(framed(Buffer.alloc(800)));
    assert.equal(recorder.maxHeld, 0);
    assert.throws(() => decoder.push(framed(Buffer.alloc(800)).subarray(0, 10)), expectProblem(FrameProblem.OVER_BUDGET));
    assert.equal(recorder.held, 0);
  });

  it("with 'until-closed', every message stays held, once, until dispose", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (messages, cuts) => {
          const recorder = new Recorder();
          const kept: Buffer[] = [];
          let holds = 0;
          const counting: FrameReceiver = {
            onMessage: (m) => (kept.push(m), recorder.onMessage(m)),
            holdStarted: (bytes) => (holds++, recorder.holdStarted(bytes)),
            holdEnded: (bytes) => recorder.holdEnded(bytes),
          };
          const decoder = new FrameDecoder(1024, counting, 'until-closed');
          for (const chunk of splitAt(Buffer.concat(messages.map((m) => framed(m))), cuts)) decoder.push(chunk);
          assert.deepEqual(recorder.messages.map((m) => [...m]), messages.map((m) => [...m]));
          assert.equal(recorder.held, kept.reduce((sum, m) => sum + pinnedBytes(m), 0), 'held for what each kept message pins');
          assert.equal(holds, messages.filter((m) => m.length > 0).length, 'one hold per message, however split');
          decoder.dispose();
          decoder.dispose();
          assert.equal(recorder.held, 0);
        },
      ),
    );
  });

  it("with 'until-closed', a small message copied into Node's pool is held for the slab it pins, until dispose", () => {
    // Review of the unary merge: held for its own bytes, 10,000 parked 10-byte requests pinned 78 MiB.
    const read = Buffer.alloc(64 * 1024);
    read.set(framed(Buffer.alloc(10, 0x61)));
    const roomy = new Recorder();
    const decoder = new FrameDecoder(1024, roomy, 'until-closed');
    decoder.push(read.subarray(0, 15));
    assert.equal(roomy.held, Buffer.poolSize);
    decoder.dispose();
    assert.equal(roomy.held, 0);
    // No room for a slab: an exact copy, held for its size; no room for that either: refused.
    const tight = new Recorder(100);
    const kept: Buffer[] = [];
    const keeping: FrameReceiver = { onMessage: (m) => void kept.push(m), holdStarted: (b) => tight.holdStarted(b), holdEnded: (b) => tight.holdEnded(b) };
    new FrameDecoder(1024, keeping, 'until-closed').push(read.subarray(0, 15));
    assert.deepEqual([kept[0]!.toString(), kept[0]!.buffer.byteLength, tight.held], ['a'.repeat(10), 10, 10]);
    assert.throws(() => new FrameDecoder(1024, new Recorder(9), 'until-closed').push(read.subarray(0, 15)), expectProblem(FrameProblem.OVER_BUDGET));
  });

  it("with 'until-closed', only a message below half of Buffer.poolSize is copied into the pool (Node's rule)", () => {
    const read = Buffer.alloc(4 * Buffer.poolSize);
    const below = (Buffer.poolSize >>> 1) - 1;
    for (const size of [below, below + 1]) {
      const kept: Buffer[] = [];
      const recorder = new Recorder();
      read.set(framed(Buffer.alloc(size, 0x62)));
      const keeping: FrameReceiver = { onMessage: (m) => void kept.push(m), holdStarted: (b) => recorder.holdStarted(b), holdEnded: (b) => recorder.holdEnded(b) };
      new FrameDecoder(Buffer.poolSize, keeping, 'until-closed').push(read.subarray(0, size + 5));
      assert.equal(kept[0]!.length, size);
      assert.equal(kept[0]!.buffer.byteLength, size === below ? Buffer.poolSize : size, `${size} bytes`);
      assert.equal(recorder.held, size === below ? Buffer.poolSize : size, `${size} bytes`);
    }
  });

  it("with 'until-closed', a whole message in one chunk is refused past the budget", () => {
    const recorder = new Recorder(500);
    assert.throws(() => new FrameDecoder(1024, recorder, 'until-closed').push(framed(Buffer.alloc(800))), expectProblem(FrameProblem.OVER_BUDGET));
    assert.equal(recorder.messages.length, 0);
    assert.equal(recorder.held, 0);
  });

  it('an empty message is a message', () => {
    const recorder = new Recorder();
    new FrameDecoder(1024, recorder).push(Buffer.concat([framed(new Uint8Array(0)), framed(Buffer.from('a'))]));
    assert.deepEqual(recorder.messages.map(String), ['', 'a']);
  });
});
