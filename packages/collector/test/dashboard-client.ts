/** The dashboard's JSON API as its tests call it: GET with the read token, numbers as numbers. */
import assert from "node:assert/strict";
import { request, type IncomingHttpHeaders } from "node:http";

export function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
    })
      .on("error", reject)
      .end();
  });
}

export type Row = Record<string, unknown>;

/** DuckDB's BIGINT and HUGEINT arrive as JSON strings: numeric strings become numbers. */
export const numeric = (row: Row): Row =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v]));

/** `GET <base>/api/<name>?<params>`; asserts a 200; the whole answer (rows, and `next` for events). */
export async function apiAnswer(
  base: string,
  name: string,
  params: Record<string, string> = {},
  token?: string,
): Promise<{ rows: Row[]; next?: string | null; text: string }> {
  const r = await get(`${base}/api/${name}?${new URLSearchParams(params)}`, token ? { authorization: `Bearer ${token}` } : {});
  assert.equal(r.status, 200, `${name}: ${r.text}`);
  const body = JSON.parse(r.text) as { rows: Row[]; next?: string | null };
  return { ...body, text: r.text };
}

/** The rows of `GET <base>/api/<name>`, numbers as numbers. */
export async function apiRows(base: string, name: string, params: Record<string, string> = {}, token?: string): Promise<Row[]> {
  return (await apiAnswer(base, name, params, token)).rows.map(numeric);
}
