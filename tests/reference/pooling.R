# Reference values for recoverystudy.stats.pooling (Rubin's rules with Barnard-Rubin df).
# Run from anywhere:  Rscript tests/reference/pooling.R   (writes pooling.json beside this script)
# mice::pool.scalar(Q, U, n, k) is applied to seeded per-imputation estimates; the inputs are stored too,
# so the Python test pools exactly the same numbers.
suppressPackageStartupMessages({library(mice); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
set.seed(2026)
cases <- list(
  list(name = "m5_n80", m = 5, n = 80, k = 2, q = 3.2, qsd = 0.15, u = 0.04),
  list(name = "m20_n400", m = 20, n = 400, k = 1, q = -1.1, qsd = 0.05, u = 0.01),
  list(name = "m10_inf", m = 10, n = Inf, k = 1, q = 12, qsd = 0.8, u = 1.5),
  list(name = "m3_small", m = 3, n = 12, k = 1, q = 0.4, qsd = 0.3, u = 0.09),
  list(name = "tiny_between", m = 5, n = 60, k = 1, q = 1, qsd = 1e-5, u = 0.5),
  list(name = "equal_estimates", m = 4, n = 50, k = 1, q = 2, qsd = 0, u = 0.2)
)
out <- list()
for (cs in cases) {
  Q <- cs$q + rnorm(cs$m, 0, cs$qsd)
  U <- cs$u * runif(cs$m, 0.8, 1.2)
  p <- pool.scalar(Q, U, n = cs$n, k = cs$k)
  out[[length(out) + 1]] <- list(
    name = cs$name, Q = Q, U = U, n = if (is.infinite(cs$n)) "Inf" else cs$n, k = cs$k,
    qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, df = p$df, r = p$r, fmi = p$fmi)
}
meta <- list(R = R.version.string, mice = as.character(packageVersion("mice")))
write_json(list(meta = meta, cases = out), file.path(here, "pooling.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
