# Reference values for recoverystudy.integrate (joint_display's rank test and effect size).
#
# Run from anywhere:   Rscript tests/reference/integrate.R
# Writes integrate.json beside this script (relative to the script's own folder).
#
# Packages: stats (wilcox.test, quantile, p.adjust), effectsize (rank_biserial), jsonlite.
#
# * The joint-display data below are the hand-built study of tests/test_integrate.py: twelve
#   interviewed service users in two sites with an Empowerment-style score, and which of them have
#   coded material on the themes "carers" and "risk" (the Python test builds a project whose coding
#   gives exactly these presence vectors and checks that it does).
# * wilcox.test(with, without, correct = TRUE) with R's default exact = NULL: exact p when both arms
#   have fewer than 50 values and there are no ties, otherwise the normal approximation with tie and
#   continuity correction.  W is U of the first sample ("with coded material").
# * effectsize::rank_biserial(with, without): r = (U_with - U_without) / (n_with n_without), i.e.
#   1 - 2 U_without / (n1 n2); CI tanh(atanh(r) +/- z sqrt((n1 + n2 + 1) / (3 n1 n2))).
# * p.adjust(method = "holm") within each group (the overall rows, and each site) across themes.
# * quantile(type = 7) for medians and quartiles.
# * mwu: further samples for the rank test alone, including 10 vs 12 without ties (R exact; scipy's
#   own method = "auto" would use the normal approximation here) and forced exact = FALSE / TRUE.

suppressPackageStartupMessages({
  library(jsonlite)
  library(effectsize)
})

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(file_arg)) dirname(normalizePath(file_arg)) else getwd()

cases <- sprintf("SU%02d", 1:12)
site <- rep(c("A", "B"), each = 6)
es_total <- c(3.2, 2.8, 2.5, 3.6, 2.1, 2.9, 3.0, 3.4, 2.5, 3.1, 2.2, 2.7)
presence <- list(
  carers = c(TRUE, TRUE, FALSE, TRUE, FALSE, FALSE, TRUE, TRUE, FALSE, TRUE, FALSE, FALSE),
  risk = c(rep(TRUE, 9), FALSE, FALSE, FALSE)
)

rank_test <- function(x, y, exact = NULL) {
  out <- list(n_with = length(x), n_without = length(y))
  q <- function(v, p) if (length(v)) unname(quantile(v, p, type = 7)) else NA
  out$median_with <- q(x, 0.5); out$q1_with <- q(x, 0.25); out$q3_with <- q(x, 0.75)
  out$mean_with <- if (length(x)) mean(x) else NA
  out$median_without <- q(y, 0.5); out$q1_without <- q(y, 0.25); out$q3_without <- q(y, 0.75)
  out$mean_without <- if (length(y)) mean(y) else NA
  if (length(x) >= 2 && length(y) >= 2) {
    w <- suppressWarnings(wilcox.test(x, y, correct = TRUE, exact = exact))
    rb <- rank_biserial(x, y, ci = 0.95)
    out$statistic <- unname(w$statistic)
    out$p <- w$p.value
    out$method <- if (grepl("exact", w$method)) "exact" else "normal approximation"
    out$rank_biserial <- rb$r_rank_biserial
    out$ci_low <- rb$CI_low
    out$ci_high <- rb$CI_high
  } else {
    out$statistic <- NA; out$p <- NA; out$method <- ""
    out$rank_biserial <- NA; out$ci_low <- NA; out$ci_high <- NA
  }
  out
}

rows <- list()
for (theme in names(presence)) {
  has <- presence[[theme]]
  for (g in c("All cases", "A", "B")) {
    keep <- if (g == "All cases") rep(TRUE, 12) else site == g
    r <- rank_test(es_total[keep & has], es_total[keep & !has])
    r$theme <- theme
    r$group <- g
    rows[[length(rows) + 1]] <- r
  }
}
table <- do.call(rbind, lapply(rows, as.data.frame))
table$p_adj <- NA
for (g in unique(table$group)) {
  sel <- table$group == g
  table$p_adj[sel] <- p.adjust(table$p[sel], method = "holm")
}

set.seed(7)
x10 <- round(rnorm(10, 3, 0.5), 3)
y12 <- round(rnorm(12, 2.7, 0.5), 3)
mwu_cases <- list(
  list(name = "10_vs_12_no_ties", x = x10, y = y12, exact = NULL),
  list(name = "10_vs_12_forced_normal", x = x10, y = y12, exact = FALSE),
  list(name = "ties_forced_exact", x = c(1, 2, 2, 4, 5), y = c(2, 3, 3, 6), exact = TRUE),
  list(name = "ties_small", x = c(1, 2, 2, 4, 5), y = c(2, 3, 3, 6), exact = NULL),
  list(name = "three_vs_three", x = c(3, 5, 7), y = c(1, 2, 4), exact = NULL),
  list(name = "overlap_55", x = c(seq(1, 60, by = 1.1)), y = c(seq(0.5, 58, by = 1.05)), exact = NULL)
)
mwu <- lapply(mwu_cases, function(cs) {
  r <- rank_test(cs$x, cs$y, exact = cs$exact)
  list(name = cs$name, x = cs$x, y = cs$y, exact = if (is.null(cs$exact)) NA else cs$exact,
       statistic = r$statistic, p = r$p, method = r$method, rank_biserial = r$rank_biserial,
       ci_low = r$ci_low, ci_high = r$ci_high)
})

out <- list(
  data = list(case = cases, site = site, es_total = es_total, presence = presence),
  joint = table,
  mwu = mwu,
  session = paste(capture.output(sessionInfo()), collapse = "\n")
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(here, "integrate.json"))
