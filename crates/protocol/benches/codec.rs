//! Hot-path benchmarks: parsing PUBs out of a read buffer and encoding MSGs into a write
//! buffer, 128-byte payloads, reported as operations per second.

use bytes::BytesMut;
use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weir_protocol::{encode_msg, encode_pub, parse_client_op, ClientOp, Limits, Progress};

const OPS: usize = 10_000;
const PAYLOAD: [u8; 128] = [b'x'; 128];

fn pub_buffer(reply: Option<&[u8]>) -> BytesMut {
    let mut buf = BytesMut::new();
    for _ in 0..OPS {
        encode_pub(&mut buf, b"bench.subject.foo", reply, None, &PAYLOAD);
    }
    buf
}

fn parse_all(buf: &[u8], limits: &Limits) -> usize {
    let mut at = 0;
    let mut bytes = 0;
    while let Ok(Progress::Complete { op, consumed }) = parse_client_op(&buf[at..], limits) {
        if let ClientOp::Pub(p) = op {
            bytes += p.payload.len();
        }
        at += consumed;
    }
    bytes
}

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(OPS as u64));
    let plain = pub_buffer(None);
    group.bench_function("pub_128B", |b| {
        b.iter(|| {
            let n = parse_all(black_box(&plain), &limits);
            assert_eq!(n, OPS * PAYLOAD.len());
        })
    });
    let with_reply = pub_buffer(Some(b"_INBOX.abcdefghijklmnop.1234"));
    group.bench_function("pub_reply_128B", |b| {
        b.iter(|| parse_all(black_box(&with_reply), &limits))
    });
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(OPS as u64));
    let out_size = OPS * (PAYLOAD.len() + 64);
    group.bench_function("msg_128B", |b| {
        b.iter_batched_ref(
            || BytesMut::with_capacity(out_size),
            |out| {
                for _ in 0..OPS {
                    encode_msg(
                        out,
                        b"bench.subject.foo",
                        b"17",
                        None,
                        None,
                        black_box(&PAYLOAD),
                    );
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("hmsg_reply_128B", |b| {
        b.iter_batched_ref(
            || BytesMut::with_capacity(out_size + OPS * 40),
            |out| {
                for _ in 0..OPS {
                    encode_msg(
                        out,
                        b"bench.subject.foo",
                        b"17",
                        Some(b"_INBOX.abcdefghijklmnop.1234"),
                        Some(b"NATS/1.0\r\nA: b\r\n\r\n"),
                        black_box(&PAYLOAD),
                    );
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, parse, encode);
criterion_main!(benches);
