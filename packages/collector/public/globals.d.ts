// uPlot is loaded as a classic script before the page's modules (`assets/uplot.js`, its IIFE build), which sets
// this global.
import type UPlot from "uplot";

declare global {
  const uPlot: typeof UPlot;
}
