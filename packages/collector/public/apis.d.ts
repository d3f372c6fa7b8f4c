/**
 * The dashboard's API names. The collector serves this module (`assets/apis.js`) from `DASHBOARD_APIS` itself
 * (`dashboard/routes.ts`), so the page never repeats the list: this file only gives the page its type.
 */
export declare const DASHBOARD_APIS: typeof import("../src/dashboard/apis.js").DASHBOARD_APIS;

/** The name of one dashboard API. */
export type DashboardApi = (typeof DASHBOARD_APIS)[number];
