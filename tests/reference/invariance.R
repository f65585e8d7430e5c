# Reference values for recoverystudy.stats.cfa / recoverystudy.stats.invariance (measurement invariance).
# Run from anywhere:  Rscript tests/reference/invariance.R
# Writes tests/data/invariance.csv and invariance_missing.csv (only if absent: they are committed) and
# invariance.json beside this script: lavaan::cfa fits (configural, metric, scalar; ML, MLR, FIML) and
# lavTestLRT comparisons, with tight optimiser tolerances so that estimates are exact to ~1e-9.
suppressPackageStartupMessages({library(lavaan); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
datadir <- file.path(dirname(here), "data")
csv <- file.path(datadir, "invariance.csv")
csv_miss <- file.path(datadir, "invariance_missing.csv")
if (!file.exists(csv)) {
  set.seed(4242)
  make <- function(n, country, shift_x3) {
    f <- MASS::mvrnorm(n, c(0, 0), matrix(c(1, 0.4, 0.4, 0.8), 2))
    lam <- c(1, 0.9, 0.8, 1.1, 1, 0.7, 0.9)
    fac <- c(1, 1, 1, 1, 2, 2, 2)
    nu <- c(3, 3.2, 2.9, 3.1, 3.4, 3, 2.8)
    nu[3] <- nu[3] + shift_x3
    x <- sapply(1:7, function(j) nu[j] + lam[j] * f[, fac[j]] + rnorm(n, 0, 0.7))
    x <- pmin(pmax(round(x), 1), 5)       # five-point answers
    colnames(x) <- paste0("x", 1:7)
    data.frame(country = country, x)
  }
  d <- rbind(make(220, "England", 0), make(180, "Wales", 0.35))
  d <- d[sample(nrow(d)), ]
  d <- rbind(d[d$country == "England", ][1, ], d[-which(d$country == "England")[1], ])  # England first
  d$id <- sprintf("R%03d", seq_len(nrow(d)))
  d <- d[, c("id", "country", paste0("x", 1:7))]
  write.csv(d, csv, row.names = FALSE)
  dm <- d
  items <- paste0("x", 1:7)
  m <- as.matrix(dm[, items])
  m[runif(length(m)) < 0.05] <- NA
  dm[, items] <- m
  write.csv(dm, csv_miss, row.names = FALSE)
}
d <- read.csv(csv)
dm <- read.csv(csv_miss)
model <- "F1 =~ x1 + x2 + x3 + x4\nF2 =~ x5 + x6 + x7"
ctl <- list(reltol = 1e-16, maxit = 10000)
levels <- list(configural = "", metric = c("loadings"), scalar = c("loadings", "intercepts"))
ML <- c("chisq", "df", "pvalue", "cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr", "aic", "bic",
        "logl", "npar", "baseline.chisq", "baseline.df", "unrestricted.logl", "ntotal")
ROBUST <- c("chisq.scaled", "pvalue.scaled", "chisq.scaling.factor", "baseline.chisq.scaled",
            "baseline.chisq.scaling.factor", "cfi.scaled", "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust",
            "rmsea.robust", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")
run <- function(data, estimator, missing) {
  fits <- list(); out <- list()
  for (lev in names(levels)) {
    fit <- cfa(model, data = data, group = "country", group.equal = levels[[lev]], estimator = estimator,
               missing = missing, optim.method = "BFGS", control = ctl)
    fits[[lev]] <- fit
    fm <- fitMeasures(fit)
    keep <- if (estimator == "MLR") c(ML, ROBUST) else ML
    keep <- keep[keep %in% names(fm)]
    pe <- parameterEstimates(fit)
    ss <- standardizedSolution(fit)
    out[[lev]] <- list(
      fit = as.list(fm[keep]),
      converged = lavInspect(fit, "converged"), max_gradient = max(abs(lavInspect(fit, "optim.gradient"))),
      group_labels = lavInspect(fit, "group.label"),
      params = list(lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = pe$group, est = pe$est, se = pe$se),
      std = list(lhs = ss$lhs, op = ss$op, rhs = ss$rhs, group = ss$group, est = ss$est.std, se = ss$se))
  }
  lrt <- lavTestLRT(fits$configural, fits$metric, fits$scalar)
  out$lrt <- list(df = lrt$Df, chisq = lrt$Chisq, df_diff = lrt[["Df diff"]], chisq_diff = lrt[["Chisq diff"]],
                  p = lrt[["Pr(>Chisq)"]])
  out
}
res <- list(
  meta = list(R = R.version.string, lavaan = as.character(packageVersion("lavaan")), model = model,
              control = "optim.method = BFGS, reltol = 1e-16"),
  ml = run(d, "ML", "listwise"),
  mlr = run(d, "MLR", "listwise"),
  fiml = run(dm, "ML", "ml"),
  listwise = run(dm, "ML", "listwise")
)
write_json(res, file.path(here, "invariance.json"), digits = NA, auto_unbox = TRUE, pretty = FALSE)
