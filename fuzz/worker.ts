/**
 * The watched child of a fuzz campaign: opens one case per message and answers how it ended. It runs under the
 * parent's memory and time watch, so a case that hangs or blows up costs this process, never the campaign.
 */
import { TARGETS } from "./targets.ts";

export interface CaseRequest {
  target: string;
  path: string;
}

export type CaseReply = { ok: true } | { ok: false; name: string; message: string };

process.on("message", async (req: CaseRequest) => {
  let reply: CaseReply;
  try {
    await TARGETS[req.target].open(req.path);
    reply = { ok: true };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    reply = { ok: false, name: err.name, message: err.message };
  }
  process.send!(reply);
});
process.send!({ ready: true });
