#!/usr/bin/env bash
# The JetStream "orders" walk-through from the NATS tutorials, with `weir` in place of `nats`:
# an account check, a stream for orders, a pull consumer for the workers, two orders
# published with a wait for their acks, both consumed and acknowledged, then the stream and
# the consumer inspected. Run it against a fresh `weir-server -js` (or `nats-server -js`):
#
#   NATS_URL=nats://127.0.0.1:4222 examples/orders/walkthrough.sh
#
# WEIR names the weir binary when it is not on PATH (the integration test sets it).
set -euo pipefail
exec 2>&1
if [[ -n ${WEIR:-} ]]; then
  PATH="$(cd "$(dirname "$WEIR")" && pwd):$PATH"
fi
PS4='$ '
set -x

weir account info
weir stream add ORDERS --subjects "orders.*" --ack --storage file --retention limits --discard old --max-age=1h
weir consumer add ORDERS order-workers --filter orders.created --ack explicit --pull --deliver all --replay instant
weir pub orders.created --wait '{"orderId":"ord_1001","customerId":"cus_9001","status":"created","createdAt":"2026-05-04T12:00:00Z"}'
weir pub orders.created --wait '{"orderId":"ord_1002","customerId":"cus_9002","status":"created","createdAt":"2026-05-04T12:00:05Z"}'
weir consumer next ORDERS order-workers --count 2
weir stream info ORDERS
weir consumer info ORDERS order-workers
