"""What the stream processors add to tracking records: device, browser, bots, referrer and
campaign attribution. Pure functions: no I/O, no framework imports."""
