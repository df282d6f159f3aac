-- wrk script: POST one tracking event per request (or a batch, when BATCH is set in the env),
-- spread over SESSIONS session ids (default 1000) as real traffic is: each session's events go
-- to its own partition, and a session sends several events.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local function event(i)
  return '{"s":"bench","u":"https://shop.example/pricing","sid":"7f0c2a7e-3b7d-4a59-9d0e-'
    .. string.format("%012d", i) .. '","ec":"interaction","ea":"scroll_depth","ev":75,'
    .. '"r":"https://www.google.com/","meta":{"fp":"fp-' .. i .. '","gclid":"Cj0KCQiA1234567","utm_source":"bench"}}'
end
local batch = tonumber(os.getenv("BATCH") or "0")
local sessions = tonumber(os.getenv("SESSIONS") or "1000")
local bodies = {}
for s = 1, sessions do
  if batch > 0 then
    local events = {}
    for i = 1, batch do events[i] = event(s) end
    bodies[s] = '{"events":[' .. table.concat(events, ",") .. ']}'
  else
    bodies[s] = event(s)
  end
end
local n = 0

function request()
  n = n % sessions + 1
  return wrk.format(nil, nil, nil, bodies[n])
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\":%d,\"duration_us\":%d,\"errors_status\":%d,\"errors_connect\":%d," ..
    "\"errors_timeout\":%d,\"p50_us\":%d,\"p99_us\":%d,\"mean_us\":%.1f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
