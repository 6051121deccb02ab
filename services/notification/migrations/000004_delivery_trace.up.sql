-- The W3C trace context (traceparent, tracestate) of the consumer span that matched the event
-- to the subscription: the dispatcher starts every attempt's webhook span as its child, so the
-- webhook call, however much later, is in the event's trace. NULL for deliveries made before
-- this migration (their attempts start a trace of their own).
ALTER TABLE deliveries
    ADD COLUMN traceparent text,
    ADD COLUMN tracestate  text;
