/**
 * The question a command asks before it destroys something (dlt's `fmt.confirm`, default No). `--yes` answers it
 * for scripts. Without `--yes`, a stdin that is not a terminal refuses instead of answering: dlt answers No there
 * and exits 0, which a script cannot tell from a drop that happened.
 */
import { Option } from "commander";
import { createInterface } from "node:readline";
import type { CliIo } from "../io.js";

/** `-y, --yes`: go ahead without asking. */
export const yesOption = (): Option => new Option("-y, --yes", "apply without asking (needed when stdin is not a terminal)");

/** The answer: go ahead, the user said no, or there was nobody to ask. */
export type Confirmation = "yes" | "no" | "refused";

/**
 * Asks `question` on the terminal (`[y/N]`; `y` or `yes` goes ahead). With `yes`, asks nothing. On a stdin that is
 * not a terminal, says why it refuses (naming `command` and `--yes`) and returns `refused`.
 */
export async function confirm(io: CliIo, question: string, yes: boolean, command: string): Promise<Confirmation> {
  if (yes) return "yes";
  if (process.stdin.isTTY !== true) {
    io.err(
      `error: \`${command}\` asks before it changes anything, and stdin is not a terminal: nothing was changed. Run it with --yes to apply it without asking.\n`,
    );
    return "refused";
  }
  io.out(`${question} [y/N]: `);
  const answer = await new Promise<string>((resolve) => {
    const rl = createInterface({ input: process.stdin, terminal: false });
    let done = false;
    const finish = (line: string): void => {
      if (done) return;
      done = true;
      rl.close();
      // readline resumed stdin: let the process end once the command has.
      process.stdin.pause();
      resolve(line);
    };
    rl.once("line", finish);
    rl.once("close", () => finish(""));
  });
  return /^\s*y(es)?\s*$/i.test(answer) ? "yes" : "no";
}
