-- wrk script: POST the file named by $BODY with Content-Type $CONTENT_TYPE (default application/json).
--   BODY=/tmp/loanrisk-load/predict.json wrk -s post.lua URL
-- With $DELAY_MS > 0 each connection waits that long between requests, capping the rate at about
-- connections * 1000 / (DELAY_MS + latency): latency at a chosen load instead of at saturation.
-- Everything is set at the top level so wrk formats the request once (a static request).
local f = assert(io.open(assert(os.getenv("BODY"), "set BODY to a body file"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("CONTENT_TYPE") or "application/json"

local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
    function delay()
        return pause
    end
end
