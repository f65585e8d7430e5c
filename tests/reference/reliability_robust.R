# Reference values for the robust paths of recoverystudy.quant.reliability, from R psych.
# Run from anywhere:  Rscript tests/reference/reliability_robust.R
# Writes tests/reference/reliability_robust.json beside this script (data + psych results + sessionInfo).
#   * zero-variance items: psych::alpha(x) drops them (delete = TRUE, with a warning);
#   * negatively correlated items: psych::alpha(x) warns; psych::alpha(x, check.keys = TRUE) reverses them
#     as max + min - x (min and max over all kept items) when their loading on the first principal
#     component is negative;
#   * keys with an explicit scale range: reversed by hand as (lo + hi) - x, then psych::alpha;
#   * psych::omega(x, nfactors = 1)$omega.tot (psych::omega reverses negative items itself: flip = TRUE).
suppressPackageStartupMessages({library(psych); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))

make_items <- function(n, k, loadings, seed, miss = 0, reverse = integer(0), constant = integer(0),
                       breaks = c(-Inf, -1.2, -0.4, 0.4, 1.2, Inf)) {
  set.seed(seed)
  f <- rnorm(n)
  x <- sapply(seq_len(k), function(j) {
    z <- loadings[j] * f + rnorm(n, sd = sqrt(1 - loadings[j]^2))
    cut(z, breaks = breaks, labels = FALSE)
  })
  for (j in reverse) x[, j] <- (length(breaks)) - x[, j]     # negatively worded, left unreversed
  for (j in constant) x[, j] <- 3                               # everyone gave the same answer
  if (miss > 0) {
    hole <- matrix(runif(n * k) < miss, n, k)
    hole[, constant] <- FALSE
    x[hole] <- NA
  }
  colnames(x) <- sprintf("item_%02d", seq_len(k))
  as.data.frame(x)
}

alpha_stats <- function(a) list(
  raw_alpha = a$total$raw_alpha, std_alpha = a$total$std.alpha,
  feldt_lower = a$feldt$lower.ci[[1]], feldt_upper = a$feldt$upper.ci[[1]],
  r_drop = unname(a$item.stats$r.drop), alpha_if_dropped = unname(a$alpha.drop$raw_alpha),
  item_mean = unname(a$item.stats$mean), item_sd = unname(a$item.stats$sd),
  items = sub("-$", "", rownames(a$item.stats)))

omega_tot <- function(x) suppressWarnings(suppressMessages(psych::omega(x, nfactors = 1, plot = FALSE)))$omega.tot
negative_pc <- function(x) {
  p1 <- psych::principal(x, scores = FALSE)
  rownames(p1$loadings)[p1$loadings[, 1] < 0]
}

out <- list()

# 1. an item everyone answered the same way (plus 4 % missing elsewhere)
x <- make_items(250, 7, c(0.7, 0.6, 0.65, 0.5, 0.55, 0.7, 0.6), 101, miss = 0.04, constant = 4L)
w <- NULL
a <- withCallingHandlers(psych::alpha(x), warning = function(wn) { w <<- c(w, conditionMessage(wn));
                                                                  invokeRestart("muffleWarning") })
out$zero_variance <- c(list(data = as.list(x), dropped = "item_04", warnings = w,
                            omega_total = omega_tot(x[, -4])), alpha_stats(a))

# 2. two negatively worded items left unreversed
x <- make_items(300, 8, c(0.7, 0.65, 0.6, 0.7, 0.55, 0.6, 0.65, 0.5), 202, reverse = c(3L, 6L))
a0 <- suppressWarnings(psych::alpha(x))
a1 <- suppressWarnings(psych::alpha(x, check.keys = TRUE))
out$negative_two <- c(list(data = as.list(x), negative = negative_pc(x),
                           unchecked_raw_alpha = a0$total$raw_alpha,
                           unchecked_r_drop = unname(a0$item.stats$r.drop),
                           omega_total = omega_tot(x)), alpha_stats(a1))

# 3. check.keys with missing answers and a zero-variance item together
x <- make_items(400, 10, rep(c(0.7, 0.55), 5), 303, miss = 0.06, reverse = c(2L, 9L), constant = 5L)
a1 <- suppressWarnings(psych::alpha(x, check.keys = TRUE))
out$combined <- c(list(data = as.list(x), dropped = "item_05", negative = negative_pc(x[, -5]),
                       omega_total = omega_tot(x[, -5])), alpha_stats(a1))

# 4. keys with an explicit 1-5 range where nobody used the top answer (observed range 1-4)
x <- make_items(220, 6, c(0.7, 0.6, 0.65, 0.6, 0.7, 0.55), 404, reverse = c(4L),
                breaks = c(-Inf, -0.8, 0.1, 1.0, Inf))
# answers 1-4 only (nobody used 5 on the 1-5 scale); item_04 is negatively worded
keyed <- x
keyed[, 4] <- (1 + 5) - keyed[, 4]
a <- psych::alpha(keyed)
out$keys_range <- c(list(data = as.list(x), keys = "item_04", range = c(1, 5),
                         omega_total = omega_tot(keyed)), alpha_stats(a))

out$session_info <- paste(capture.output(sessionInfo()), collapse = "\n")
out$psych_version <- as.character(packageVersion("psych"))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           file.path(here, "reliability_robust.json"))
cat("wrote", file.path(here, "reliability_robust.json"), "\n")
