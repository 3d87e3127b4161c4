-- wrk script: GET with an optional per-connection pause of $DELAY_MS (see post.lua).
local pause = tonumber(os.getenv("DELAY_MS") or "0")
if pause > 0 then
    function delay()
        return pause
    end
end
