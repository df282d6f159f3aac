-- wrk script: POST one tracking event per request (or a batch, when BATCH is set in the env).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local event = '{"s":"bench","u":"https://shop.example/pricing","sid":"7f0c2a7e-3b7d-4a59-9d0e-5b1b6f1f2a10",'
  .. '"ec":"interaction","ea":"scroll_depth","ev":75,"r":"https://www.google.com/",'
  .. '"meta":{"fp":"fp-bench","gclid":"Cj0KCQiA1234567","utm_source":"bench"}}'
local batch = tonumber(os.getenv("BATCH") or "0")
if batch > 0 then
  local events = {}
  for i = 1, batch do events[i] = event end
  wrk.body = '{"events":[' .. table.concat(events, ",") .. ']}'
else
  wrk.body = event
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\":%d,\"duration_us\":%d,\"errors_status\":%d,\"errors_connect\":%d," ..
    "\"errors_timeout\":%d,\"p50_us\":%d,\"p99_us\":%d,\"mean_us\":%.1f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
