# Reference values for recoverystudy.stats._ptukey (the studentized range): R's ptukey and qtukey.
# Run from the repository root:  Rscript tests/reference/ptukey.R
# Writes tests/reference/ptukey.json.
grid <- expand.grid(q = c(0.05, 0.5, 1, 2, 2.5, 3, 3.5, 4, 5, 6, 8, 12, 20),
                    k = c(2, 3, 4, 6, 10, 20),
                    df = c(2, 2.7, 5, 5.3, 10, 17.25, 60, 99.5, 150, 801, 6000, 30000, Inf))
grid$p <- mapply(function(q, k, df) ptukey(q, k, df), grid$q, grid$k, grid$df)
grid$upper <- mapply(function(q, k, df) ptukey(q, k, df, lower.tail = FALSE), grid$q, grid$k, grid$df)
qgrid <- expand.grid(p = c(0.5, 0.9, 0.95, 0.99), k = c(2, 3, 6, 10), df = c(3, 5.3, 12, 45.5, 200, Inf))
qgrid$q <- mapply(function(p, k, df) qtukey(p, k, df), qgrid$p, qgrid$k, qgrid$df)
out <- list(r_version = R.version.string,
            ptukey = lapply(seq_len(nrow(grid)), function(i) as.list(grid[i, ])),
            qtukey = lapply(seq_len(nrow(qgrid)), function(i) as.list(qgrid[i, ])))
json <- function(x) {
  if (is.list(x)) {
    if (!is.null(names(x))) {
      return(paste0("{", paste0('"', names(x), '": ', sapply(x, json), collapse = ", "), "}"))
    }
    return(paste0("[", paste0(sapply(x, json), collapse = ",\n"), "]"))
  }
  if (is.character(x)) return(paste0('"', x, '"'))
  if (is.infinite(x)) return(if (x > 0) '"Inf"' else '"-Inf"')
  sprintf("%.17g", x)
}
writeLines(json(out), "tests/reference/ptukey.json")
