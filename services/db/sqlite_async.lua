-- db/sqlite_async.lua: sqlite statements run on the connection's worker
-- thread (wisp.sqlite's exec_async), the calling task waiting for them
-- while the service goes on serving: what fsyncs, and so may take a
-- second on a busy disk, no longer holds the node's thread, its
-- heartbeats, its console or the cached gets. That is every COMMIT with
-- synchronous full, and with any setting the checkpoints, which the
-- connection leaves to its caller (checkpoint = "caller"). A COMMIT with
-- synchronous normal writes the WAL without an fsync and stays on the
-- node's thread, where it costs less than the handing over would.
local wisp = require "wisp"
local sqlite = require "wisp.sqlite"

local sqlite_async = {}

local CHECKPOINT_PAGES = 1000 -- sqlite's own (PRAGMA wal_autocheckpoint)

local waiting = {} -- [connection id] = the task waiting for its statement

wisp.dispatch("socket", function(event, id)
	local task = event == sqlite.DONE and waiting[id]
	if task then
		waiting[id] = nil
		wisp.wakeup(task)
	end
end)

-- Runs sql on conn's worker: true, or nil, message and code name.
function sqlite_async.exec(conn, sql)
	local id = conn:exec_async(sql)
	waiting[id] = coroutine.running()
	repeat
		wisp.wait()
	until not conn:busy()
	return conn:exec_result()
end

local function run(conn, sql)
	local ok, err = sqlite_async.exec(conn, sql)
	if not ok then
		error(err, 0)
	end
end

-- A checkpoint once the WAL holds CHECKPOINT_PAGES. No write runs
-- meanwhile, so it catches up with the whole WAL, which the next write
-- then starts again from its beginning. Whether one ran; raises if it
-- failed.
local function checkpoint(conn)
	if conn:wal_pages() < CHECKPOINT_PAGES then
		return false
	end
	run(conn, "PRAGMA wal_checkpoint(PASSIVE)")
	return true
end

-- The writer's hooks (db.writer): commit, raising as conn:exec
-- would, and checkpoint, after a commit. With synchronous full every
-- COMMIT fsyncs the WAL; with normal, only the first after the open or
-- a checkpoint (which starts the WAL again and syncs its new header):
-- those go to the worker.
function sqlite_async.hooks(synchronous)
	local restarting = true
	local function commit(c)
		if synchronous == "full" or restarting then
			restarting = false
			run(c, "COMMIT")
		else
			c:exec("COMMIT")
		end
	end
	local function checkpoint_after(c)
		local ran = checkpoint(c)
		restarting = restarting or ran
		return ran
	end
	return { commit = commit, checkpoint = checkpoint_after }
end

return sqlite_async
