-- wrk script for bench/load/soak.sh: a mix of POST /predict (one loan) and POST /batch_predict (a portfolio,
-- JSON, NDJSON and CSV bodies in turn), every response that is not 2xx counted.
--   SOAK_BODIES=DIR BATCH_EVERY=20 wrk -s soak.lua URL
-- DIR holds make_bodies.py's predict.json, batch.json, batch.ndjson and batch.csv. One request in BATCH_EVERY
-- is a batch. done() prints one line, "soak.lua: ...", that soak.sh reads.
local dir = assert(os.getenv("SOAK_BODIES"), "set SOAK_BODIES to a make_bodies.py output directory")
local every = tonumber(os.getenv("BATCH_EVERY") or "20")

local function slurp(name)
    local f = assert(io.open(dir .. "/" .. name, "rb"))
    local s = f:read("*a")
    f:close()
    return s
end

local kinds = {"predict", "json", "ndjson", "csv"}
local cycle, cycle_kind = {}, {}
local pos = 0

-- Per-thread counters: globals, so done() can read them with thread:get().
non2xx, first_bad_status, responses = 0, 0, 0
sent_predict, sent_json, sent_ndjson, sent_csv = 0, 0, 0, 0

function init(args)
    local predict = slurp("predict.json")
    local batches = {
        {"json", "application/json", slurp("batch.json")},
        {"ndjson", "application/x-ndjson", slurp("batch.ndjson")},
        {"csv", "text/csv", slurp("batch.csv")},
    }
    for i = 1, every * #batches do
        if i % every == 0 then
            local b = batches[i / every]
            cycle[#cycle + 1] = wrk.format("POST", "/batch_predict", {["Content-Type"] = b[2]}, b[3])
            cycle_kind[#cycle_kind + 1] = b[1]
        else
            cycle[#cycle + 1] = wrk.format("POST", "/predict", {["Content-Type"] = "application/json"}, predict)
            cycle_kind[#cycle_kind + 1] = "predict"
        end
    end
end

function request()
    pos = pos % #cycle + 1
    local k = cycle_kind[pos]
    if k == "predict" then sent_predict = sent_predict + 1
    elseif k == "json" then sent_json = sent_json + 1
    elseif k == "ndjson" then sent_ndjson = sent_ndjson + 1
    else sent_csv = sent_csv + 1 end
    return cycle[pos]
end

function response(status, headers, body)
    responses = responses + 1
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        if first_bad_status == 0 then first_bad_status = status end
    end
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function done(summary, latency, requests)
    local total = {non2xx = 0, responses = 0, predict = 0, json = 0, ndjson = 0, csv = 0}
    local bad = 0
    for _, t in ipairs(threads) do
        total.non2xx = total.non2xx + t:get("non2xx")
        total.responses = total.responses + t:get("responses")
        for _, k in ipairs(kinds) do
            total[k] = total[k] + t:get("sent_" .. k)
        end
        if bad == 0 then bad = t:get("first_bad_status") end
    end
    io.write(string.format("soak.lua: responses %d non2xx %d first_bad_status %d sent predict %d batch_json %d "
                           .. "batch_ndjson %d batch_csv %d\n", total.responses, total.non2xx, bad, total.predict,
                           total.json, total.ndjson, total.csv))
    io.write(string.format("soak.lua: latency p50 %.2f ms p99 %.2f ms max %.2f ms\n", latency:percentile(50) / 1000,
                           latency:percentile(99) / 1000, latency.max / 1000))
end
