/**
 * Source names `dlt init` may report as typed. A name a user makes up can identify them (`acme_salesforce_prod`),
 * so `command_init` carries it only when it is public (one of dlt's verified sources, which include the `chess`
 * template dlt-ts ships); any other name is reported as `custom`.
 */

/**
 * dlt's public verified sources: the folders of `sources/` in github.com/dlt-hub/verified-sources at commit
 * 3957506 (2026-07-03), which `dlt init <source> <destination>` scaffolds in Python.
 */
export const VERIFIED_SOURCES = [
  "airtable",
  "asana_dlt",
  "bing_webmaster",
  "chess",
  "facebook_ads",
  "filesystem",
  "freshdesk",
  "github",
  "google_ads",
  "google_analytics",
  "google_sheets",
  "hubspot",
  "inbox",
  "jira",
  "kafka",
  "kinesis",
  "matomo",
  "mongodb",
  "mux",
  "notion",
  "personio",
  "pg_replication",
  "pipedrive",
  "pokemon",
  "rest_api",
  "salesforce",
  "scraping",
  "shopify_dlt",
  "slack",
  "sql_database",
  "strapi",
  "stripe_analytics",
  "unstructured_data",
  "workable",
  "zendesk",
] as const;

/** What `command_init` may carry as the source name. */
export const REPORTABLE_SOURCES = [...VERIFIED_SOURCES, "custom"] as const;
export type ReportableSource = (typeof REPORTABLE_SOURCES)[number];

/** The name `command_init` carries for a source asked for: itself when public, else `custom`. */
export function reportableSource(name: string): ReportableSource {
  return (VERIFIED_SOURCES as readonly string[]).includes(name) ? (name as ReportableSource) : "custom";
}
