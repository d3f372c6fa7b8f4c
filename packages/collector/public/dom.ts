// Building the page's elements. Text from events is always set as text, never parsed as HTML: event names, labels and
// versions come from clients. Styles are set through the CSSOM (`style.setProperty`), which the page's
// Content-Security-Policy allows; a `style="…"` attribute would be refused.

/** The page's element for `selector`; the page's own markup has it, so a miss is a bug worth an error naming it. */
export function $<E extends Element = HTMLElement>(selector: string, root: ParentNode = document): E {
  const el = root.querySelector<E>(selector);
  if (!el) throw new Error(`the page has no ${selector}`);
  return el;
}

/** Every element for `selector`, as an array. */
export const $$ = <E extends Element = HTMLElement>(selector: string, root: ParentNode = document): E[] => [...root.querySelectorAll<E>(selector)];

export const fmt = (n: unknown): string => Number(n).toLocaleString("en-US");
export const percent = (x: number, digits = 1): string => `${(100 * x).toFixed(digits)} %`;

/** An attribute's value: `true` sets it empty, `false`, null and undefined leave it out. */
type Attribute = string | number | boolean | null | undefined;

/** What `h()` sets on an element besides its attributes. */
export interface Props {
  readonly dataset?: Readonly<Record<string, string>>;
  /** CSS properties by their CSS names (`background`, `width`). */
  readonly style?: Readonly<Record<string, string>>;
  readonly onclick?: (e: MouseEvent) => void;
  readonly [attribute: string]: Attribute | Readonly<Record<string, string>> | ((e: MouseEvent) => void);
}

/** A child of `h()`: a node, or text (never parsed as HTML); false, null and undefined are left out. */
export type Child = Node | string | number | false | null | undefined | readonly Child[];

/** An element: `props` are attributes (and `dataset`, `style`, `onclick`), children are nodes or text. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const node: HTMLElement = el; // the generic element does not pick addEventListener's "click" overload
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (typeof v === "function") node.addEventListener("click", v);
    else if (typeof v === "object") {
      if (k === "dataset") Object.assign(el.dataset, v);
      else for (const [name, value] of Object.entries(v)) el.style.setProperty(name, value);
    } else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: readonly Child[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  }
}

/** Makes sure a select can show `value` (a value from the address that no API listed yet). */
export function ensureOption(select: HTMLSelectElement, value: string, label = value): void {
  if (value !== "" && ![...select.options].some((o) => o.value === value)) select.add(new Option(label, value));
}
