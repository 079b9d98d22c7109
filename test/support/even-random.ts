/**
 * A constant random source for client `index` of `count`, so a test arranges where its clients go
 * instead of hoping: clients choose `floor(random × choices)`, so of 3 servers `count / 3` start on
 * each, and the clients of the middle one, told to leave, split evenly between the two others.
 */
export function evenSpreadRandom(index: number, count: number): () => number {
  const value = (index + 0.5) / count;
  return () => value;
}
