# Reference values for recoverystudy.stats.compare / posthoc / effsize.
#
# Run from anywhere:   Rscript tests/reference/compare.R
# Writes compare.json beside this script (relative to the script's own folder).
#
# Packages: stats (aov, oneway.test, kruskal.test, TukeyHSD, ptukey, p.adjust), rstatix
# (games_howell_test, dunn_test, kruskal_effsize), effectsize (eta_squared, omega_squared,
# F_to_eta2, F_to_omega2, rank_epsilon_squared), car (leveneTest), boot (percentile CIs).
#
# Notes on what is computed "by hand" and why:
# * rstatix::games_howell_test rounds p.adj to 3 decimals (rstatix:::p_round).  The unrounded
#   Games-Howell p is recomputed here from rstatix's own formula:
#       ptukey(t * sqrt(2), k, df, lower.tail = FALSE),  t = |mean2 - mean1| / sqrt(v1 + v2).
#   The rounded rstatix value is stored too (p_adj_rstatix_rounded) to show they agree.
#   Below p ~ 1e-4 R's ptukey loses relative accuracy (checked with a 30-digit mpmath integration:
#   e.g. q = 7.2708, k = 4, df = 74.18 gives 1.2620725e-05, R 1.2620628e-05); the Python tests
#   therefore compare studentized-range p below 1e-4 absolutely (1e-9), see tests/test_posthoc.py.
# * The unadjusted pairwise p (column p in recoverystudy) is the two-sided t p-value of the
#   same pair: Welch t with the Welch-Satterthwaite df for Games-Howell, and the pooled-MSE t on
#   the ANOVA error df for Tukey.  Neither R function reports it, so it is computed with pt().
# * TukeyHSD reports no statistic; the absolute t = |diff| / sqrt(MSE (1/n1 + 1/n2)) is computed
#   here (the studentized range is q = t * sqrt(2)).
# * effectsize: both alternative = "greater" (its default: one-sided CI, upper bound fixed at 1)
#   and alternative = "two.sided" are stored.  Pairwise Hedges' g uses effectsize's default
#   two-sided 95% CI, with pooled_sd = TRUE (beside Tukey) and FALSE (beside Games-Howell).
# * Bootstrap CIs cannot be reproduced across RNGs.  For the percentile step itself a vector of
#   bootstrap replicates (effectsize's stratified resampling for rank epsilon squared) is stored
#   with boot::boot.ci(type = "perc"), so Python can check its percentile rule on the same numbers.

suppressPackageStartupMessages({
  library(jsonlite)
  library(rstatix)
  library(effectsize)
  library(car)
  library(boot)
})

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(file_arg)) dirname(normalizePath(file_arg)) else getwd()

levels_c <- function(x) sort(unique(as.character(x)), method = "radix")  # C-locale order, as Python sorts

make_data <- function() {
  set.seed(20240601)
  out <- list()
  # d1: three sites, unbalanced, values to one decimal (ties), unequal variances
  n <- c(12, 20, 7); mu <- c(3.1, 3.6, 2.7); s <- c(0.6, 0.9, 0.4)
  g <- rep(c("Cardiff", "Leeds", "Swansea"), n)
  y <- round(unlist(mapply(rnorm, n, mu, s)), 1)
  out$d1 <- data.frame(y = y, g = g)
  # d2: six sites (4 England, 2 Wales), Likert sums (heavy ties), moderate effect
  n <- c(30, 45, 18, 60, 25, 9); mu <- c(40, 43, 38, 44, 41, 36); s <- c(6, 8, 5, 9, 7, 4)
  g <- rep(c("E1", "E2", "E3", "E4", "W1", "W2"), n)
  y <- round(unlist(mapply(rnorm, n, mu, s)))
  out$d2 <- data.frame(y = y, g = g)
  # d3: four small sites on a 1-5 scale
  n <- c(5, 3, 8, 4)
  g <- rep(c("a", "b", "c", "d"), n)
  y <- c(1, 2, 2, 3, 5, 4, 4, 5, 2, 3, 3, 3, 1, 2, 4, 2, 5, 5, 4, 3)
  out$d3 <- data.frame(y = y, g = g)
  # d4: five sites, no effect: pick the first seed whose F < 1 (negative omega2 -> floored at 0)
  n <- c(15, 22, 10, 30, 13)
  g <- rep(c("s1", "s2", "s3", "s4", "s5"), n)
  for (sd in 1:200) {
    set.seed(sd)
    y <- round(rnorm(sum(n), 3, 0.8), 1)
    if (anova(lm(y ~ g))[1, "F value"] < 0.7) break
  }
  out$d4 <- data.frame(y = y, g = g)
  # d5: four sites, large effect, item means of a 12-item 1-5 scale (multiples of 1/12)
  set.seed(7)
  n <- c(40, 55, 33, 70); mu <- c(2.5, 3.0, 3.6, 2.9); s <- c(0.5, 0.7, 0.6, 0.8)
  g <- rep(c("north", "east", "south", "west"), n)
  y <- round(pmin(5, pmax(1, unlist(mapply(rnorm, n, mu, s)))) * 12) / 12
  out$d5 <- data.frame(y = y, g = g)
  out
}

pairs_of <- function(lv) {
  k <- length(lv); g1 <- c(); g2 <- c()
  for (j in 1:(k - 1)) for (i in (j + 1):k) { g1 <- c(g1, lv[j]); g2 <- c(g2, lv[i]) }
  list(g1 = g1, g2 = g2)
}

ncp_tab <- function(tab) {
  col <- grep("^(Eta2|Omega2|Epsilon2)", names(tab), value = TRUE)[1]
  list(value = tab[[col]], ci_low = tab$CI_low, ci_high = tab$CI_high)
}

analyse <- function(d) {
  lv <- levels_c(d$g)
  d$g <- factor(d$g, levels = lv)
  k <- length(lv); N <- nrow(d)
  res <- list(levels = lv, y = d$y, g = as.character(d$g))

  # descriptives (quantile type 7; t interval for the mean)
  res$descriptives <- lapply(lv, function(l) {
    x <- d$y[d$g == l]; n <- length(x); m <- mean(x); s <- sd(x); tq <- qt(0.975, n - 1)
    list(site = l, n = n, mean = m, sd = s, median = median(x),
         q1 = unname(quantile(x, 0.25, type = 7)), q3 = unname(quantile(x, 0.75, type = 7)),
         ci_low = m - tq * s / sqrt(n), ci_high = m + tq * s / sqrt(n))
  })

  fit <- aov(y ~ g, data = d)
  at <- summary(fit)[[1]]
  res$anova <- list(statistic = at[1, "F value"], df1 = at[1, "Df"], df2 = at[2, "Df"], p = at[1, "Pr(>F)"])
  ow_eq <- oneway.test(y ~ g, data = d, var.equal = TRUE)
  res$oneway_equal <- list(statistic = unname(ow_eq$statistic), df1 = unname(ow_eq$parameter[1]),
                           df2 = unname(ow_eq$parameter[2]), p = ow_eq$p.value)
  ow <- oneway.test(y ~ g, data = d, var.equal = FALSE)
  res$welch <- list(statistic = unname(ow$statistic), df1 = unname(ow$parameter[1]),
                    df2 = unname(ow$parameter[2]), p = ow$p.value)
  kw <- kruskal.test(y ~ g, data = d)
  res$kruskal <- list(statistic = unname(kw$statistic), df1 = unname(kw$parameter), p = kw$p.value)

  # Tukey HSD (Tukey-Kramer); TukeyHSD rows are "later-earlier" in level order = our (group1, group2)
  tk <- TukeyHSD(fit, conf.level = 0.95)$g
  pr <- pairs_of(lv)
  mse <- at[2, "Mean Sq"]; dfe <- at[2, "Df"]
  ns <- table(d$g)
  rn <- paste(pr$g2, pr$g1, sep = "-")
  se_t <- sqrt(mse * (1 / as.numeric(ns[pr$g1]) + 1 / as.numeric(ns[pr$g2])))
  t_tk <- abs(tk[rn, "diff"]) / se_t
  res$tukey <- list(group1 = pr$g1, group2 = pr$g2, estimate = unname(tk[rn, "diff"]),
                    ci_low = unname(tk[rn, "lwr"]), ci_high = unname(tk[rn, "upr"]),
                    statistic = unname(t_tk), p = unname(2 * pt(-t_tk, dfe)),
                    p_adj = unname(tk[rn, "p adj"]),
                    p_adj_by_hand = unname(ptukey(t_tk * sqrt(2), k, dfe, lower.tail = FALSE)))

  gh <- as.data.frame(games_howell_test(d, y ~ g, conf.level = 0.95, detailed = TRUE))
  stopifnot(all(gh$group1 == pr$g1), all(gh$group2 == pr$g2))
  res$games_howell <- list(group1 = gh$group1, group2 = gh$group2, estimate = gh$estimate,
                           ci_low = gh$conf.low, ci_high = gh$conf.high, se = gh$se,
                           statistic = gh$statistic, df = gh$df,
                           p = 2 * pt(-gh$statistic, gh$df),
                           p_adj = ptukey(gh$statistic * sqrt(2), k, gh$df, lower.tail = FALSE),
                           p_adj_rstatix_rounded = gh$p.adj)

  # pairwise Hedges' g (group2 vs group1): pooled SD beside Tukey, un-pooled SD beside Games-Howell
  hg <- function(pooled) {
    out <- lapply(seq_along(pr$g1), function(i) {
      h <- suppressWarnings(hedges_g(d$y[d$g == pr$g2[i]], d$y[d$g == pr$g1[i]], pooled_sd = pooled, ci = 0.95))
      c(h$Hedges_g, h$CI_low, h$CI_high)
    })
    m <- do.call(rbind, out)
    list(g = m[, 1], ci_low = m[, 2], ci_high = m[, 3])
  }
  # The same interval with the noncentral-t bounds solved exactly (uniroot on pt, tol 1e-14):
  # effectsize's .get_ncp_t uses optim (abstol 1e-9 on the summed probability error), which can
  # leave the bounds ~1e-6 off; the Python tests compare with both.
  hg_exact <- function(pooled) {
    out <- lapply(seq_along(pr$g1), function(i) {
      x <- d$y[d$g == pr$g2[i]]; y <- d$y[d$g == pr$g1[i]]
      n1 <- length(x); n2 <- length(y); s1 <- sd(x); s2 <- sd(y)
      if (pooled) {
        s <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2) / (n1 + n2 - 2)); hn <- 1 / n1 + 1 / n2
        se <- s * sqrt(hn); df <- n1 + n2 - 2
      } else {
        s <- sqrt((s1^2 + s2^2) / 2); hn <- (2 * (n2 * s1^2 + n1 * s2^2)) / (n1 * n2 * (s1^2 + s2^2))
        se <- sqrt(s1^2 / n1 + s2^2 / n2); df <- se^4 / ((s1^2 / n1)^2 / (n1 - 1) + (s2^2 / n2)^2 / (n2 - 1))
      }
      t <- (mean(x) - mean(y)) / se
      J <- exp(lgamma(df / 2) - log(sqrt(df / 2)) - lgamma((df - 1) / 2))
      w <- 10 * (1 + sqrt(1 + t^2 / (2 * df)))
      root <- function(p) suppressWarnings(uniroot(function(nc) pt(t, df, nc) - p, c(t - w, t + w), tol = 1e-14)$root)
      c((mean(x) - mean(y)) / s * J, root(0.975) * sqrt(hn) * J, root(0.025) * sqrt(hn) * J)
    })
    m <- do.call(rbind, out)
    list(g = m[, 1], ci_low = m[, 2], ci_high = m[, 3])
  }
  res$hedges_g_pooled <- hg(TRUE)
  res$hedges_g_unpooled <- hg(FALSE)
  res$hedges_g_pooled_exact <- hg_exact(TRUE)
  res$hedges_g_unpooled_exact <- hg_exact(FALSE)

  dn <- as.data.frame(dunn_test(d, y ~ g, p.adjust.method = "holm", detailed = TRUE))
  stopifnot(all(dn$group1 == pr$g1), all(dn$group2 == pr$g2))
  dn_bh <- as.data.frame(dunn_test(d, y ~ g, p.adjust.method = "BH", detailed = TRUE))
  res$dunn <- list(group1 = dn$group1, group2 = dn$group2, estimate = dn$estimate,
                   statistic = dn$statistic, p = dn$p, p_adj = dn$p.adj, p_adj_bh = dn_bh$p.adj)

  es <- list()
  for (alt in c("greater", "two.sided")) {
    e <- list(
      eta2 = ncp_tab(eta_squared(fit, partial = FALSE, ci = 0.95, alternative = alt, verbose = FALSE)),
      omega2 = ncp_tab(omega_squared(fit, partial = FALSE, ci = 0.95, alternative = alt, verbose = FALSE)),
      welch_eta2 = ncp_tab(F_to_eta2(res$welch$statistic, res$welch$df1, res$welch$df2, ci = 0.95, alternative = alt)),
      welch_omega2 = ncp_tab(F_to_omega2(res$welch$statistic, res$welch$df1, res$welch$df2, ci = 0.95, alternative = alt))
    )
    es[[alt]] <- e
  }
  res$effect_sizes <- es
  res$rank_epsilon_squared <- rank_epsilon_squared(y ~ g, data = d, ci = NULL)[[1]]
  res$eta2_h <- as.data.frame(kruskal_effsize(d, y ~ g))$effsize

  lm_ <- leveneTest(y ~ g, data = d, center = mean)
  lmed <- leveneTest(y ~ g, data = d, center = median)
  res$levene <- list(statistic = lm_[1, "F value"], df1 = lm_[1, "Df"], df2 = lm_[2, "Df"], p = lm_[1, "Pr(>F)"])
  res$brown_forsythe <- list(statistic = lmed[1, "F value"], df1 = lmed[1, "Df"], df2 = lmed[2, "Df"], p = lmed[1, "Pr(>F)"])
  res$shapiro <- lapply(lv, function(l) {
    x <- d$y[d$g == l]
    if (length(x) < 3 || length(unique(x)) < 2) return(list(site = l, statistic = NA, p = NA))
    s <- shapiro.test(x); list(site = l, statistic = unname(s$statistic), p = s$p.value)
  })
  res
}

datasets <- make_data()
out <- list()
for (nm in names(datasets)) out[[nm]] <- analyse(datasets[[nm]])

# Percentile step of the bootstrap: effectsize's stratified resampling of rank epsilon squared
d <- datasets$d2; d$g <- factor(d$g, levels = levels_c(d$g))
boot_fun <- function(.data, .i) {
  split(.data$y, .data$g) <- lapply(split(.data$y, .data$g), sample, replace = TRUE)
  kw <- suppressWarnings(kruskal.test(.data$y, .data$g)); n <- nrow(.data)
  unname(kw$statistic) / ((n^2 - 1) / (n + 1))
}
set.seed(11)
B <- boot(d, boot_fun, R = 199)
out$bootstrap <- list(t = as.vector(B$t),
                      perc90 = tail(as.vector(boot.ci(B, conf = 0.90, type = "perc")$percent), 2),
                      perc95 = tail(as.vector(boot.ci(B, conf = 0.95, type = "perc")$percent), 2))

# Several outcomes with their own missing values: family-wise correction across outcomes
set.seed(99)
n <- c(25, 31, 19, 40)
site <- rep(c("A", "B", "C", "D"), n)
N <- sum(n)
multi <- data.frame(site = site,
                    o1 = round(rnorm(N, rep(c(3, 3.2, 2.9, 3.4), n), 0.7), 1),
                    o2 = round(rnorm(N, 10, 2)),
                    o3 = round(rnorm(N, rep(c(50, 55, 47, 52), n), 8)))
multi$o1[c(3, 40, 77)] <- NA
multi$o2[c(5, 6, 100)] <- NA
multi$site[c(11, 50)] <- NA
wp <- sapply(c("o1", "o2", "o3"), function(v) {
  dd <- multi[!is.na(multi[[v]]) & !is.na(multi$site), ]
  oneway.test(as.formula(paste(v, "~ site")), data = dd, var.equal = FALSE)$p.value
})
kp <- sapply(c("o1", "o2", "o3"), function(v) {
  dd <- multi[!is.na(multi[[v]]) & !is.na(multi$site), ]
  kruskal.test(as.formula(paste(v, "~ site")), data = dd)$p.value
})
out$multi <- list(site = multi$site, o1 = multi$o1, o2 = multi$o2, o3 = multi$o3,
                  welch_p = unname(wp), welch_p_holm = p.adjust(unname(wp), "holm"),
                  welch_p_bh = p.adjust(unname(wp), "BH"),
                  kruskal_p = unname(kp), kruskal_p_holm = p.adjust(unname(kp), "holm"))

out$session <- paste(capture.output(sessionInfo()), collapse = "\n")
out$versions <- list(R = R.version.string, rstatix = as.character(packageVersion("rstatix")),
                     effectsize = as.character(packageVersion("effectsize")),
                     car = as.character(packageVersion("car")), boot = as.character(packageVersion("boot")))

write_json(out, file.path(here, "compare.json"), digits = NA, auto_unbox = TRUE, na = "null", pretty = FALSE)
cat("wrote", file.path(here, "compare.json"), "\n")
