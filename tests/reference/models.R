# Reference values for recoverystudy.stats.correlate and recoverystudy.multilevel.
# Run from anywhere:  Rscript tests/reference/models.R   (writes models.json beside this script)
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
out <- list()

# ---- correlations: pairwise-complete, with ties and missing values ----------------------------
set.seed(101)
n <- 80
a <- round(rnorm(n, 3, 1), 1)
b <- round(0.5 * a + rnorm(n, 0, 0.8))           # integers: many ties
cc <- round(-0.3 * a + rnorm(n), 2)
a[c(3, 17, 40)] <- NA; b[c(5, 17, 66, 70)] <- NA; cc[c(9)] <- NA
d <- data.frame(a = a, b = b, c = cc)
pairs <- list(c("a", "b"), c("a", "c"), c("b", "c"))
cors <- list()
for (m in c("pearson", "spearman", "kendall")) {
  for (p in pairs) {
    ok <- complete.cases(d[, p])
    ct <- suppressWarnings(cor.test(d[ok, p[1]], d[ok, p[2]], method = m, exact = FALSE))
    row <- list(method = m, x = p[1], y = p[2], n = sum(ok), r = unname(ct$estimate), p = ct$p.value)
    if (m == "pearson") { row$ci_low <- ct$conf.int[1]; row$ci_high <- ct$conf.int[2] }
    cors[[length(cors) + 1]] <- row
  }
}
out$correlations <- list(data = lapply(d, function(v) ifelse(is.na(v), NA, v)), results = cors)

# ---- lmer REML: random site intercept ---------------------------------------------------------
mk <- function(seed, sizes, tau, sigma, slope = 0) {
  set.seed(seed)
  site <- rep(paste0("S", seq_along(sizes)), sizes)
  u <- rnorm(length(sizes), 0, tau)
  age <- round(runif(sum(sizes), 18, 80))
  y <- 50 + u[as.integer(factor(site, levels = paste0("S", seq_along(sizes))))] + slope * age + rnorm(sum(sizes), 0, sigma)
  data.frame(site = site, age = age, y = round(y, 3))
}
fits <- list(
  list(name = "intercept_only", data = mk(7, c(20, 35, 92, 41, 60, 28), 2.0, 6.0), formula = y ~ 1 + (1 | site)),
  list(name = "with_covariate", data = mk(8, c(55, 74, 80, 66, 90, 83), 1.5, 5.0, slope = 0.08),
       formula = y ~ age + (1 | site)),
  list(name = "singular", data = mk(9, c(30, 30, 25, 40, 35, 30), 0.0, 4.0), formula = y ~ 1 + (1 | site))
)
mods <- list()
for (f in fits) {
  m <- suppressMessages(lmer(f$formula, data = f$data, REML = TRUE))
  vc <- as.data.frame(VarCorr(m))
  mods[[f$name]] <- list(
    data = as.list(f$data),
    formula = deparse(f$formula),
    variance_site = vc$vcov[vc$grp == "site"],
    variance_residual = vc$vcov[vc$grp == "Residual"],
    fixed = as.list(fixef(m)),
    fixed_se = as.list(sqrt(diag(as.matrix(vcov(m))))),
    reml_criterion = unname(REMLcrit(m)),
    singular = isSingular(m)
  )
}
out$lmer <- mods
out$session_info <- paste(capture.output(sessionInfo()), collapse = "\n")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null"), file.path(here, "models.json"))
cat("wrote", file.path(here, "models.json"), "\n")
