/** A classic µs pcap file (Ethernet) of `count` UDP packets from 10.0.0.`host`, one second apart from `startSeconds`. */
export function udpPcap(host: number, startSeconds: number, count: number, linkType = 1): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262_144, 16);
  header.writeUInt32LE(linkType, 20);
  const records = Array.from({ length: count }, (_, i) => {
    const frame = Buffer.alloc(14 + 20 + 8 + 4);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45;
    frame.writeUInt16BE(20 + 8 + 4, 16);
    frame[22] = 64;
    frame[23] = 17;
    Buffer.from([10, 0, 0, host]).copy(frame, 26);
    Buffer.from([10, 0, 0, 99]).copy(frame, 30);
    frame.writeUInt16BE(5000 + host, 34);
    frame.writeUInt16BE(53, 36);
    frame.writeUInt16BE(12, 38);
    const record = Buffer.alloc(16);
    record.writeUInt32LE(startSeconds + i, 0);
    record.writeUInt32LE(frame.length, 8);
    record.writeUInt32LE(frame.length, 12);
    return Buffer.concat([record, frame]);
  });
  return Buffer.concat([header, ...records]);
}
