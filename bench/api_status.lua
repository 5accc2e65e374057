-- wrk script for bench/api_add.py: POST /api/v2 action=status of one order (a random one
-- of the first account's orders), the constant polling of a reseller.
local key = os.getenv("BENCH_KEY")
local ids = {}
for id in string.gmatch(os.getenv("BENCH_IDS"), "%d+") do ids[#ids + 1] = id end
failed = 0  -- a global: done() reads each thread's through thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time())
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local body = "action=status&key=" .. key .. "&order=" .. ids[math.random(#ids)]
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"status"', 1, true) then
    failed = failed + 1
    if failed <= 3 then io.stderr:write("unexpected answer: " .. status .. " " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local refused = 0
  for _, thread in ipairs(threads) do refused = refused + (thread:get("failed") or 0) end
  io.write(string.format("BENCH requests=%d seconds=%.3f p50_ms=%.2f p95_ms=%.2f failed=%d\n",
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, refused))
end
