# Reference values for recoverystudy.stats.multilevel inference with few sites, from lme4 / lmerTest /
# pbkrtest. Run from anywhere:  Rscript tests/reference/multilevel.R
# Writes tests/reference/multilevel.json beside this script (data + results + sessionInfo):
#   * lmerTest::lmer(REML = TRUE): fixed effects with Satterthwaite df and p (summary(m)),
#     Kenward-Roger SE, df and p (summary(m, ddf = "Kenward-Roger"), pbkrtest::vcovAdj / Lb_ddf);
#   * lmer(REML = FALSE): logLik, AIC, BIC, estimates, Satterthwaite df;
#   * lmerTest::ranova(m): likelihood-ratio test of the site variance (REML and ML fits);
#   * rows with a missing outcome, covariate or site are dropped by na.omit (nobs(m)).
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 2e-4, rhoend = 2e-12, maxfun = 1e5),
                    check.conv.grad = .makeCC("ignore", tol = 2e-3))

mk <- function(seed, sizes, tau, sigma, miss_age = 0, miss_y = 0, miss_site = 0) {
  set.seed(seed)
  g <- length(sizes)
  site <- rep(sprintf("S%d", seq_len(g)), sizes)
  country <- ifelse(as.integer(factor(site, levels = sprintf("S%d", seq_len(g)))) <= ceiling(2 * g / 3),
                    "England", "Wales")
  n <- sum(sizes)
  age <- round(runif(n, 18, 80))
  gender <- sample(c("female", "male", "other"), n, replace = TRUE, prob = c(0.5, 0.45, 0.05))
  u <- rnorm(g, 0, tau)[as.integer(factor(site, levels = sprintf("S%d", seq_len(g))))]
  y <- 40 + u + 0.08 * age + 1.5 * (gender == "male") + 2 * (country == "Wales") + rnorm(n, 0, sigma)
  d <- data.frame(site = site, country = country, age = age, gender = gender, y = round(y, 3))
  if (miss_age) d$age[sample(n, miss_age)] <- NA
  if (miss_y) d$y[sample(n, miss_y)] <- NA
  if (miss_site) d$site[sample(n, miss_site)] <- NA
  d
}

cases <- list(
  list(name = "six_sites_country", data = mk(11, c(40, 55, 70, 38, 62, 45), 1.5, 5),
       fixed = c("age", "gender", "country")),
  list(name = "eight_sites_missing", data = mk(22, c(30, 41, 25, 60, 33, 48, 52, 29), 2.5, 6,
                                              miss_age = 5, miss_y = 3, miss_site = 2),
       fixed = c("age", "gender")),
  list(name = "twelve_sites_age", data = mk(33, c(12, 30, 25, 18, 40, 22, 35, 15, 28, 20, 33, 26), 3, 7),
       fixed = c("age")),
  list(name = "six_sites_small_tau", data = mk(44, c(25, 31, 22, 40, 28, 35), 0.6, 5),
       fixed = c("country"))
)

tab <- function(s, cols) {
  co <- s$coefficients
  lapply(setNames(seq_len(nrow(co)), rownames(co)), function(i) as.list(setNames(co[i, cols], cols)))
}

out <- list()
for (cs in cases) {
  f <- as.formula(paste("y ~", paste(cs$fixed, collapse = " + "), "+ (1 | site)"))
  m0 <- lmerTest::lmer(f, data = cs$data, REML = TRUE, control = ctrl)  # lme4 drops incomplete rows itself
  used <- na.omit(cs$data)  # the same rows (no other column has missing values); ranova needs them explicit
  stopifnot(nobs(m0) == nrow(used))
  m <- lmerTest::lmer(f, data = used, REML = TRUE, control = ctrl)
  m_ml <- lmerTest::lmer(f, data = used, REML = FALSE, control = ctrl)
  vc <- as.data.frame(VarCorr(m)); vc_ml <- as.data.frame(VarCorr(m_ml))
  s_sat <- summary(m)
  s_kr <- summary(m, ddf = "Kenward-Roger")
  s_ml <- summary(m_ml)
  rv <- ranova(m); rv_ml <- ranova(m_ml)
  out[[cs$name]] <- list(
    data = as.list(cs$data), fixed = cs$fixed, n_used = nobs(m),
    reml = list(variance_site = vc$vcov[vc$grp == "site"], variance_residual = vc$vcov[vc$grp == "Residual"],
                reml_criterion = unname(REMLcrit(m)), logLik = as.numeric(logLik(m)),
                satterthwaite = tab(s_sat, c("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)")),
                kenward_roger = tab(s_kr, c("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)")),
                ranova = list(logLik = rv$logLik, AIC = rv$AIC, LRT = rv$LRT[2], Df = rv$Df[2],
                              p = rv$`Pr(>Chisq)`[2], npar = rv$npar)),
    ml = list(variance_site = vc_ml$vcov[vc_ml$grp == "site"],
              variance_residual = vc_ml$vcov[vc_ml$grp == "Residual"],
              logLik = as.numeric(logLik(m_ml)), AIC = AIC(m_ml), BIC = BIC(m_ml), deviance = deviance(m_ml),
              satterthwaite = tab(s_ml, c("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)")),
              ranova = list(logLik = rv_ml$logLik, AIC = rv_ml$AIC, LRT = rv_ml$LRT[2], Df = rv_ml$Df[2],
                            p = rv_ml$`Pr(>Chisq)`[2]))
  )
}
out$session_info <- paste(capture.output(sessionInfo()), collapse = "\n")
out$versions <- list(lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
                     pbkrtest = as.character(packageVersion("pbkrtest")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE),
           file.path(here, "multilevel.json"))
cat("wrote", file.path(here, "multilevel.json"), "\n")
