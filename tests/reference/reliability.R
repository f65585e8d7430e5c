# Reference values for recoverystudy.quant.reliability, from R psych.
# Run from anywhere:  Rscript tests/reference/reliability.R
# Writes tests/reference/reliability.json beside this script (data + psych results + sessionInfo).
suppressPackageStartupMessages({library(psych); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))

make_items <- function(n, k, loadings, seed, miss = 0, reverse = integer(0)) {
  set.seed(seed)
  f <- rnorm(n)
  x <- sapply(seq_len(k), function(j) {
    z <- loadings[j] * f + rnorm(n, sd = sqrt(1 - loadings[j]^2))
    cut(z, breaks = c(-Inf, -1.2, -0.4, 0.4, 1.2, Inf), labels = FALSE)
  })
  for (j in reverse) x[, j] <- 6 - x[, j]          # a negatively worded item, raw coding 1-5
  if (miss > 0) x[matrix(runif(n * k) < miss, n, k)] <- NA
  colnames(x) <- sprintf("item_%02d", seq_len(k))
  as.data.frame(x)
}

cases <- list(
  list(name = "complete_8", data = make_items(300, 8, seq(0.45, 0.8, length.out = 8), 11), keys = character(0)),
  list(name = "missing_12", data = make_items(250, 12, rep(c(0.5, 0.65, 0.75), 4), 22, miss = 0.07),
       keys = character(0)),
  list(name = "reverse_6", data = make_items(400, 6, c(0.7, 0.6, 0.55, 0.5, 0.65, 0.6), 33, miss = 0.05,
       reverse = 3L), keys = c("item_03"))
)

out <- list()
for (cs in cases) {
  x <- cs$data
  a <- if (length(cs$keys)) psych::alpha(x, keys = cs$keys, warnings = FALSE) else psych::alpha(x, warnings = FALSE)
  keyed <- x
  for (kname in cs$keys) keyed[[kname]] <- max(x, na.rm = TRUE) + min(x, na.rm = TRUE) - x[[kname]]
  om <- suppressWarnings(suppressMessages(psych::omega(keyed, nfactors = 1, plot = FALSE)))
  out[[cs$name]] <- list(
    data = lapply(x, function(col) ifelse(is.na(col), NA, col)),
    keys = cs$keys,
    raw_alpha = a$total$raw_alpha,
    std_alpha = a$total$std.alpha,
    feldt_lower = a$feldt$lower.ci[[1]],
    feldt_upper = a$feldt$upper.ci[[1]],
    r_drop = unname(a$item.stats$r.drop),
    alpha_if_dropped = unname(a$alpha.drop$raw_alpha),
    item_mean = unname(a$item.stats$mean),
    item_sd = unname(a$item.stats$sd),
    omega_total = om$omega.tot,
    omega_h = om$omega_h
  )
}
out$session_info <- paste(capture.output(sessionInfo()), collapse = "\n")
out$psych_version <- as.character(packageVersion("psych"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           file.path(here, "reliability.json"))
cat("wrote", file.path(here, "reliability.json"), "\n")
