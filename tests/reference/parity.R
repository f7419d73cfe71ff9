# An independent re-computation of eqdash's tidy tables, from the raw extracts, in base R and
# survival only. It shares no code with the project: it reads the CSV extracts and the code lists
# (exported from data_contracts/codes.yaml by the test, since base R reads no YAML) and re-derives
# every count, rate, interval, test, adjusted p, both GLMs, the Kaplan-Meier medians and the
# log-rank tests, for each filter set. tests/reference/test_r_parity.py compares the result with
# `eqdash table NAME --format csv`.
#
# Usage: Rscript parity.R DATA_DIR CODES_CSV FILTER_SETS_CSV OUT_CSV
# FILTER_SETS_CSV columns: name, from, to, characteristic, area, worker_type (blank = not set).
# Definitions follow README "Statistics"; each is written out here from that text, not ported
# from the Python.

suppressPackageStartupMessages(library(survival))
options(warn = 1, stringsAsFactors = FALSE)

args <- commandArgs(trailingOnly = TRUE)
data_dir <- args[1]
codes <- read.csv(args[2], colClasses = "character", na.strings = "")
fsets <- read.csv(args[3], colClasses = "character", na.strings = "")
out_path <- args[4]

ALPHA <- 0.05
Z <- qnorm(1 - ALPHA / 2)
NS <- "Not stated"
AGG <- c("Asian", "Black", "Mixed", "Other")
AGG_LABEL <- "Black, Asian, Mixed and Other ethnic groups"
REF <- c(ethnicity_group = "White", sex = "Male")

rd <- function(f) read.csv(file.path(data_dir, f), colClasses = "character", na.strings = "")
label <- function(list, code) { m <- codes[codes$code_list == list, ]; m$label[match(code, m$code)] }
month_of <- function(d) as.Date(format(d, "%Y-%m-01"))
fy_of <- function(d) { y <- as.integer(format(d, "%Y")); ifelse(as.integer(format(d, "%m")) >= 4, y, y - 1L) }
add_months <- function(m, k) seq(m, by = paste(k, "months"), length.out = 2)[2]
last_day <- function(m) add_months(m, 1) - 1

# --- the extracts ------------------------------------------------------------------------------
people <- rd("people.csv")
people$join_date <- as.Date(people$join_date)
people$ethnicity_group <- codes$group_label[codes$code_list == "ethnicity"][
  match(people$ethnicity_code, codes$code[codes$code_list == "ethnicity"])]
people$sex_label <- label("sex", people$sex)
people$worker_type_label <- label("worker_type", people$worker_type)
pidx <- function(ids) match(ids, people$person_id)

postings <- rd("postings.csv")
postings$start_date <- as.Date(postings$start_date)
postings$end_date <- as.Date(postings$end_date)
postings$rank_label <- label("rank_grade", postings$rank_grade)

grv <- rd("grievances.csv")
grv$raised_date <- as.Date(grv$raised_date)
grv$outcome_date <- as.Date(grv$outcome_date)
mis <- rd("misconduct_cases.csv")
mis$referral_date <- as.Date(mis$referral_date)
apps <- rd("applications.csv")
apps$applied_date <- as.Date(apps$applied_date)
act <- rd("acting_up.csv")
act$decision_date <- as.Date(act$decision_date)
targets <- rd("targets.csv")
targets$target_date <- as.Date(targets$target_date)
targets$target_share <- as.numeric(targets$target_share)

# The window: the first month with an event to the extract date (the latest date in the extracts).
event_dates <- c(grv$raised_date, grv$outcome_date, mis$referral_date, apps$applied_date)
FIRST_MONTH <- month_of(min(event_dates, na.rm = TRUE))
posting_last <- postings$end_date
posting_last[is.na(posting_last)] <- postings$start_date[is.na(posting_last)]
EXTRACT <- max(max(event_dates, na.rm = TRUE), max(pmax(postings$start_date, posting_last)))
LAST_MONTH <- month_of(EXTRACT)
MONTHS <- seq(FIRST_MONTH, LAST_MONTH, by = "month")
MONTH_ABB <- c("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
mon <- function(d) MONTH_ABB[as.integer(format(d, "%m"))]
yr <- function(d) as.integer(format(d, "%Y"))
span <- function(a, b) {
  if (a == b) return(paste(mon(a), yr(a)))
  if (yr(a) == yr(b)) return(sprintf("%s-%s %d", mon(a), mon(b), yr(b)))
  sprintf("%s %d-%s %d", mon(a), yr(a), mon(b), yr(b))
}
fy_name <- function(fy) sprintf("FY%d/%02d", fy, (fy + 1) %% 100)
# A whole financial year is April to 31 March; the current year is "to date"; a year the chosen
# period cuts is a "part".
fy_label <- function(fy, first, last, last_covered) {
  whole_last <- as.Date(sprintf("%d-03-31", fy + 1))
  if (first == as.Date(sprintf("%d-04-01", fy)) && last_covered >= whole_last) return(fy_name(fy))
  s <- span(first, last)
  if (first == as.Date(sprintf("%d-04-01", fy)) && last_covered >= EXTRACT) {
    if (EXTRACT != last_day(month_of(EXTRACT))) s <- sprintf("%s, to %d %s", s, as.integer(format(EXTRACT, "%d")), mon(EXTRACT))
    return(sprintf("%s to date (%s)", fy_name(fy), s))
  }
  sprintf("%s part (%s)", fy_name(fy), s)
}

# --- person-time ---------------------------------------------------------------------------------
# Posting days inside [lo, hi], cut where the service band changes (the first of the month 2, 5,
# 10 and 20 years after the joining month), so each piece has one rank, area and service band.
SERVICE_CUTS <- c(24, 60, 120, 240)
SERVICE_BANDS <- c("Under 2 years", "2-4 years", "5-9 years", "10-19 years", "20 years and over")
months_between <- function(a, b) (yr(b) - yr(a)) * 12 + as.integer(format(b, "%m")) - as.integer(format(a, "%m"))
service_band <- function(join_month, d) SERVICE_BANDS[findInterval(months_between(join_month, d), SERVICE_CUTS) + 1]

pieces <- local({
  p <- postings
  pi <- pidx(p$person_id)
  lo <- pmax(p$start_date, FIRST_MONTH)
  hi <- pmin(ifelse(is.na(p$end_date), as.numeric(EXTRACT), as.numeric(p$end_date)), as.numeric(EXTRACT))
  hi <- as.Date(hi, origin = "1970-01-01")
  keep <- lo <= hi
  p <- p[keep, ]; pi <- pi[keep]; lo <- lo[keep]; hi <- hi[keep]
  jm <- month_of(people$join_date[pi])
  rows <- vector("list", nrow(p))
  for (i in seq_len(nrow(p))) {
    cuts <- sapply(SERVICE_CUTS, function(k) as.numeric(seq(jm[i], by = paste(k, "months"), length.out = 2)[2]))
    starts <- sort(unique(c(as.numeric(lo[i]), cuts[cuts > as.numeric(lo[i]) & cuts <= as.numeric(hi[i])])))
    ends <- c(starts[-1] - 1, as.numeric(hi[i]))
    rows[[i]] <- data.frame(k = i, from = starts, to = ends)
  }
  r <- do.call(rbind, rows)
  out <- data.frame(posting_id = p$posting_id[r$k], person_id = p$person_id[r$k],
                    area = p$business_area_code[r$k], rank = p$rank_label[r$k],
                    from = as.Date(r$from, origin = "1970-01-01"), to = as.Date(r$to, origin = "1970-01-01"))
  out$service_band <- service_band(jm[r$k], out$from)
  pp <- pidx(out$person_id)
  out$ethnicity_group <- people$ethnicity_group[pp]
  out$sex <- people$sex_label[pp]
  out$worker_type <- people$worker_type_label[pp]
  out$worker_type_code <- people$worker_type[pp]
  out
})

# --- filters -------------------------------------------------------------------------------------
window <- function(fs) {
  lo <- if (is.na(fs$from)) FIRST_MONTH else max(as.Date(paste0(fs$from, "-01")), FIRST_MONTH)
  hi <- if (is.na(fs$to)) LAST_MONTH else min(as.Date(paste0(fs$to, "-01")), LAST_MONTH)
  list(lo = lo, hi = hi)
}
exposure_of <- function(pc, lo, hi) {  # days of each piece inside [lo month, end of hi month] / 365.25
  a <- pmax(pc$from, lo); b <- pmin(pc$to, last_day(hi))
  ifelse(b >= a, as.numeric(b - a) + 1, 0)
}
person_time <- function(fs, lo, hi, use_area = TRUE) {
  pc <- pieces
  if (use_area && !is.na(fs$area)) pc <- pc[pc$area == fs$area, ]
  if (!is.na(fs$worker_type)) pc <- pc[pc$worker_type == fs$worker_type, ]
  pc$days <- exposure_of(pc, lo, hi)
  pc[pc$days > 0, ]
}
events_in <- function(frame, month, fs, lo, hi, area_col = "business_area_code", use_area = TRUE) {
  keep <- !is.na(month) & month >= lo & month <= hi
  if (use_area && !is.na(fs$area)) keep <- keep & frame[[area_col]] == fs$area
  if (!is.na(fs$worker_type)) keep <- keep & people$worker_type_label[pidx(frame$person_id)] == fs$worker_type
  frame[keep, , drop = FALSE]
}
char_of <- function(ids, ch) if (ch == "sex") people$sex_label[pidx(ids)] else people$ethnicity_group[pidx(ids)]

# --- statistics ----------------------------------------------------------------------------------
holm_family <- function(p, is_ref, is_ns) {
  fam <- !is.na(p) & !is_ref & !is_ns
  adj <- rep(NA_real_, length(p))
  if (any(fam)) adj[fam] <- p.adjust(p[fam], "holm")
  adj
}
wilson <- function(e, n) if (n > 0) suppressWarnings(prop.test(e, n, correct = FALSE)$conf.int[1:2]) else c(NA, NA)

# events per person-year: exact Poisson CI, log rate ratio CI, exact conditional test
rate_rows <- function(groups, events, expo, ref) {
  i0 <- match(ref, groups)
  out <- data.frame(group = groups, n = round(expo), events = events, rate = ifelse(expo > 0, events / expo, NA))
  ci <- t(sapply(seq_along(groups), function(i) if (expo[i] > 0) poisson.test(events[i], expo[i])$conf.int[1:2] else c(NA, NA)))
  out$ci_low <- ci[, 1]; out$ci_high <- ci[, 2]
  out$ratio <- out$ratio_ci_low <- out$ratio_ci_high <- out$p_value <- NA_real_
  for (i in seq_along(groups)) {
    if (is.na(i0)) next
    e0 <- events[i0]; x0 <- expo[i0]; e <- events[i]; x <- expo[i]
    if (i == i0) { if (out$n[i] > 0 && e > 0) out$ratio[i] <- 1; next }
    if (x > 0 && x0 > 0 && e0 > 0) {
      if (e > 0) {
        irr <- (e / x) / (e0 / x0); h <- Z * sqrt(1 / e + 1 / e0)
        out$ratio[i] <- irr; out$ratio_ci_low[i] <- irr * exp(-h); out$ratio_ci_high[i] <- irr * exp(h)
      } else {
        out$ratio[i] <- 0; out$ratio_ci_low[i] <- 0
        out$ratio_ci_high[i] <- exp(log((0.5 / x) / ((e0 + 0.5) / x0)) + Z * sqrt(1 / 0.5 + 1 / (e0 + 0.5)))
      }
    }
    if (x > 0 && x0 > 0 && e + e0 > 0) out$p_value[i] <- poisson.test(c(e, e0), c(x, x0))$p.value
  }
  out$is_ref <- groups == ref; out$is_ns <- groups == NS
  out
}

# events out of n: Wilson, Katz relative rate (0.5 added to each cell when a group is all or
# nothing), Fisher when an expected count < 5 else Pearson chi-square
katz <- function(e, n, e0, n0) {
  if (n <= 0 || n0 <= 0 || e0 == 0) return(c(NA, NA, NA))
  if (e == 0) {
    a <- 0.5; c <- e0 + 0.5
    return(c(0, 0, exp(log((a / (n + 1)) / (c / (n0 + 1))) + Z * sqrt(1 / a - 1 / (n + 1) + 1 / c - 1 / (n0 + 1)))))
  }
  rr <- (e / n) / (e0 / n0)
  if (e == n || e0 == n0) {
    a <- e + 0.5; c <- e0 + 0.5; n1 <- n + 1; m0 <- n0 + 1
    l <- log((a / n1) / (c / m0)); se <- sqrt(1 / a - 1 / n1 + 1 / c - 1 / m0)
    return(c(rr, exp(l - Z * se), exp(l + Z * se)))
  }
  se <- sqrt(1 / e - 1 / n + 1 / e0 - 1 / n0)
  c(rr, rr * exp(-Z * se), rr * exp(Z * se))
}
test2x2 <- function(e, n, e0, n0) {
  tab <- matrix(c(e, n - e, e0, n0 - e0), 2, byrow = TRUE)
  ex <- outer(rowSums(tab), colSums(tab)) / sum(tab)
  if (any(ex < 5)) fisher.test(tab)$p.value else suppressWarnings(chisq.test(tab, correct = FALSE)$p.value)
}
prop_rows <- function(groups, n, events, ref) {
  i0 <- match(ref, groups)
  out <- data.frame(group = groups, n = n, events = events, rate = ifelse(n > 0, events / n, NA))
  ci <- t(sapply(seq_along(groups), function(i) wilson(events[i], n[i])))
  out$ci_low <- ci[, 1]; out$ci_high <- ci[, 2]
  out$ratio <- out$ratio_ci_low <- out$ratio_ci_high <- out$p_value <- NA_real_
  for (i in seq_along(groups)) {
    if (is.na(i0)) next
    if (i == i0) { if (n[i] > 0 && events[i] > 0) out$ratio[i] <- 1; next }
    k <- katz(events[i], n[i], events[i0], n[i0])
    out$ratio[i] <- k[1]; out$ratio_ci_low[i] <- k[2]; out$ratio_ci_high[i] <- k[3]
    if (n[i] > 0 && n[i0] > 0) out$p_value[i] <- test2x2(events[i], n[i], events[i0], n[i0])
  }
  out$is_ref <- groups == ref; out$is_ns <- groups == NS
  out
}
finish <- function(d) {  # Holm over the whole table, and whether interval and verdict disagree
  d$p_adjusted <- holm_family(d$p_value, d$is_ref, d$is_ns)
  fam <- !is.na(d$p_adjusted)
  excl <- !is.na(d$ratio_ci_low) & !is.na(d$ratio_ci_high) & (d$ratio_ci_low > 1 | d$ratio_ci_high < 1)
  sig <- fam & d$p_adjusted < ALPHA
  d$interval_note <- fam & !is.na(d$ratio_ci_low) & !is.na(d$ratio_ci_high) & (excl != sig)
  d
}

# --- the tables ----------------------------------------------------------------------------------
rate_table <- function(fs, ch, ev, ev_month, lo, hi) {
  pt <- person_time(fs, lo, hi)
  expo <- tapply(pt$days, char_of(pt$person_id, ch), sum) / 365.25
  e <- events_in(ev, ev_month, fs, lo, hi)
  cnt <- table(char_of(e$person_id, ch))
  groups <- sort(union(names(expo), names(cnt)))
  x <- ifelse(is.na(expo[groups]), 0, expo[groups]); k <- ifelse(is.na(cnt[groups]), 0, cnt[groups])
  rate_rows(groups, as.numeric(k), as.numeric(x), REF[[ch]])
}

prop_table <- function(fs, ch, frame, month, denom, numer, lo, hi) {
  keep <- events_in(frame, month, fs, lo, hi)
  d <- denom(keep); num <- numer(keep)
  g <- char_of(keep$person_id, ch)
  n <- tapply(d, g, sum); e <- tapply(d & num, g, sum)
  groups <- sort(names(n)[n > 0])
  prop_rows(groups, as.numeric(n[groups]), as.numeric(e[groups]), REF[[ch]])
}

mh_table <- function(fs, ch, frame, month, numer, lo, hi) {
  keep <- events_in(frame, month, fs, lo, hi)
  g <- char_of(keep$person_id, ch); st <- fy_of(month[match(keep[[1]], frame[[1]])]); y <- numer(keep)
  n <- tapply(rep(1, length(g)), g, sum); e <- tapply(y, g, sum)
  groups <- sort(names(n))
  out <- prop_rows(groups, as.numeric(n[groups]), as.numeric(e[groups]), REF[[ch]])
  out$ratio_ci_low <- out$ratio_ci_high <- out$p_value <- NA_real_
  ref <- REF[[ch]]
  for (i in seq_along(groups)) {
    if (groups[i] == ref) next
    if (!(ref %in% groups)) { out$ratio[i] <- NA; next }
    strata <- sort(unique(st))
    a <- n1 <- c0 <- n0 <- numeric(0)
    for (s in strata) {
      a <- c(a, sum(y[g == groups[i] & st == s])); n1 <- c(n1, sum(g == groups[i] & st == s))
      c0 <- c(c0, sum(y[g == ref & st == s])); n0 <- c(n0, sum(g == ref & st == s))
    }
    both <- n1 > 0 & n0 > 0
    a <- a[both]; n1 <- n1[both]; c0 <- c0[both]; n0 <- n0[both]; N <- n1 + n0
    if (!length(a)) { out$ratio[i] <- NA; next }
    R <- sum(a * n0 / N); S <- sum(c0 * n1 / N)
    ok <- N > 1
    if (sum(ok) >= 2) {
      arr <- array(0, c(2, 2, sum(ok)))
      arr[1, 1, ] <- a[ok]; arr[1, 2, ] <- (n1 - a)[ok]; arr[2, 1, ] <- c0[ok]; arr[2, 2, ] <- (n0 - c0)[ok]
      degenerate <- any(apply(arr, 3, function(m) any(rowSums(m) == 0)))
      m1 <- (a + c0)[ok]; NN <- N[ok]
      V <- sum(n1[ok] * n0[ok] * m1 * (NN - m1) / (NN^2 * (NN - 1)))
      if (V > 0) out$p_value[i] <- if (!degenerate) mantelhaen.test(arr, correct = FALSE)$p.value else
        pchisq((sum(a[ok]) - sum(n1[ok] * m1 / NN))^2 / V, 1, lower.tail = FALSE)
    } else if (sum(ok) == 1) {
      m1 <- (a + c0)[ok]; NN <- N[ok]
      V <- n1[ok] * n0[ok] * m1 * (NN - m1) / (NN^2 * (NN - 1))
      if (V > 0) out$p_value[i] <- pchisq((a[ok] - n1[ok] * m1 / NN)^2 / V, 1, lower.tail = FALSE)
    }
    if (S == 0) { out$ratio[i] <- NA; next }
    if (R == 0) { out$ratio[i] <- 0; next }
    rr <- R / S
    v <- sum((n1 * n0 * (a + c0) - a * c0 * N) / N^2) / (R * S)
    out$ratio[i] <- rr; out$ratio_ci_low[i] <- rr * exp(-Z * sqrt(v)); out$ratio_ci_high[i] <- rr * exp(Z * sqrt(v))
  }
  out
}

financial_years <- function(lo, hi) {
  fys <- sort(unique(fy_of(MONTHS)))
  res <- list()
  for (fy in fys) {
    ms <- MONTHS[fy_of(MONTHS) == fy]
    a <- max(min(ms), lo); b <- min(max(ms), hi)
    if (a > b) next
    res[[length(res) + 1]] <- list(fy = fy, lo = a, hi = b, label = fy_label(fy, a, b, min(last_day(b), EXTRACT)))
  }
  res
}

stage_table <- function(groups_list, ref) {
  d <- do.call(rbind, lapply(names(groups_list), function(s) {
    x <- groups_list[[s]]
    r <- prop_rows(x$group, x$n, x$events, ref); r$stage <- s; r$n_pending <- x$n_pending; r
  }))
  finish(d)
}

km_table <- function(fs, ch, lo, hi) {
  g0 <- events_in(grv, month_of(grv$raised_date), fs, lo, hi)
  time <- as.numeric(ifelse(is.na(g0$outcome_date), EXTRACT, g0$outcome_date) - as.numeric(g0$raised_date))
  status <- as.integer(!is.na(g0$outcome))
  grp <- char_of(g0$person_id, ch)
  groups <- unique(grp[order(grp)])
  ref <- REF[[ch]]
  out <- data.frame(group = groups)
  for (i in seq_along(groups)) {
    w <- grp == groups[i]
    out$n[i] <- sum(w); out$events[i] <- sum(status[w])
    out$rate[i] <- out$events[i] / out$n[i]
    ci <- wilson(out$events[i], out$n[i]); out$ci_low[i] <- ci[1]; out$ci_high[i] <- ci[2]
    out$median_days[i] <- out$median_ci_low[i] <- out$median_ci_high[i] <- NA
    if (out$events[i] > 0) {
      fit <- survfit(Surv(time[w], status[w]) ~ 1, conf.type = "log-log")
      q <- quantile(fit, 0.5)
      out$median_days[i] <- unname(q$quantile); out$median_ci_low[i] <- unname(q$lower)
      out$median_ci_high[i] <- unname(q$upper)
    }
    out$p_value[i] <- NA
    if (groups[i] != ref && ref %in% groups) {
      w2 <- grp %in% c(groups[i], ref)
      if (sum(status[w2]) > 0) {
        sd <- survdiff(Surv(time[w2], status[w2]) ~ I(grp[w2] == groups[i]))
        p <- pchisq(sd$chisq, 1, lower.tail = FALSE)
        v <- sd$var[1, 1]
        if (is.finite(p) && v > 0) out$p_value[i] <- p
      }
    }
  }
  out$ratio <- out$ratio_ci_low <- out$ratio_ci_high <- NA_real_
  out$is_ref <- out$group == ref; out$is_ns <- out$group == NS
  finish(out)
}

target_at <- function(measure, d) {
  t <- targets[targets$measure == measure, ]; t <- t[order(t$target_date), ]
  if (d < t$target_date[1]) return(NA)
  if (d >= t$target_date[nrow(t)]) return(t$target_share[nrow(t)])
  j <- max(which(t$target_date <= d))
  t$target_share[j] + (t$target_share[j + 1] - t$target_share[j]) *
    as.numeric(d - t$target_date[j]) / as.numeric(t$target_date[j + 1] - t$target_date[j])
}
share_rows <- function(counts, label, on_date, measure) {  # counts: named by ethnic group
  counts <- counts[names(counts) != NS]
  n <- sum(counts); k <- sum(counts[names(counts) %in% AGG])
  ci <- wilson(k, n); tg <- target_at(measure, on_date)
  agg <- data.frame(stage = label, group = AGG_LABEL, n = n, events = k, rate = k / n, ci_low = ci[1], ci_high = ci[2],
                    ratio = NA, ratio_ci_low = NA, ratio_ci_high = NA, p_value = NA, p_adjusted = NA, target_share = tg)
  if (!is.na(tg)) {
    p <- binom.test(k, n, tg, alternative = "less")$p.value
    agg$ratio <- k / n / tg; agg$ratio_ci_low <- ci[1] / tg; agg$ratio_ci_high <- ci[2] / tg
    agg$p_value <- p; agg$p_adjusted <- p
  }
  grp <- sort(names(counts))
  rows <- do.call(rbind, lapply(grp, function(g) {
    c2 <- wilson(counts[[g]], n)
    data.frame(stage = label, group = g, n = n, events = counts[[g]], rate = counts[[g]] / n, ci_low = c2[1],
               ci_high = c2[2], ratio = NA, ratio_ci_low = NA, ratio_ci_high = NA, p_value = NA, p_adjusted = NA,
               target_share = NA)
  }))
  rbind(agg, rows)
}

# Leave out what has no finite estimate: groups with no events (or every case an event, logit),
# then covariate levels likewise, until nothing changes.
drop_uninformative <- function(cells, covs, denom, binomial) {
  excluded <- character(0)
  repeat {
    changed <- FALSE
    ge <- tapply(cells$events, cells$group, sum); gd <- tapply(cells[[denom]], cells$group, sum)
    bad <- names(ge)[ge == 0 | (binomial & ge == gd)]
    if (length(bad)) { excluded <- c(excluded, bad); cells <- cells[!cells$group %in% bad, ]; changed <- TRUE }
    for (cv in covs) {
      if (!nrow(cells)) break
      le <- tapply(cells$events, cells[[cv]], sum); ld <- tapply(cells[[denom]], cells[[cv]], sum)
      badl <- names(le)[le == 0 | (binomial & le == ld)]
      if (length(badl)) { cells <- cells[!cells[[cv]] %in% badl, ]; changed <- TRUE }
    }
    if (!changed || !nrow(cells)) break
  }
  list(cells = cells, excluded = excluded)
}
glm_rows <- function(cells, covs, ref, family, crude) {
  denom <- if (family == "poisson") "exposure" else "n"
  du <- drop_uninformative(cells, covs, denom, family == "binomial")
  c2 <- du$cells
  out <- crude
  out$ratio <- out$ratio_ci_low <- out$ratio_ci_high <- out$p_value <- NA_real_
  if (!(ref %in% c2$group)) return(out)
  c2$group <- relevel(factor(c2$group), ref)
  covs <- covs[sapply(covs, function(cv) length(unique(c2[[cv]])) > 1)]  # one level: nothing to adjust for
  rhs <- paste(c(if (nlevels(c2$group) > 1) "group", covs, "1"), collapse = " + ")
  ctl <- glm.control(epsilon = 1e-12, maxit = 200)
  if (family == "poisson") {
    fit <- glm(as.formula(paste("events ~", rhs)), offset = log(exposure), family = poisson, data = c2, control = ctl)
    disp <- sum(residuals(fit, type = "pearson")^2) / fit$df.residual
    scale <- if (fit$df.residual > 0 && disp > 1.5) disp else 1
  } else {
    fit <- glm(as.formula(paste("cbind(events, n - events) ~", rhs)), family = binomial, data = c2, control = ctl)
    scale <- 1
  }
  co <- summary(fit, dispersion = scale)$coefficients
  out$ratio[out$group == ref] <- 1
  for (g in setdiff(levels(c2$group), ref)) {
    nm <- paste0("group", g)
    if (!nm %in% rownames(co)) next
    b <- co[nm, 1]; se <- co[nm, 2]
    if (!is.finite(se) || se >= 5) next
    i <- match(g, out$group)
    out$ratio[i] <- exp(b); out$ratio_ci_low[i] <- exp(b - Z * se); out$ratio_ci_high[i] <- exp(b + Z * se)
    out$p_value[i] <- 2 * pnorm(-abs(b / se))
  }
  out$is_ref <- out$group == ref; out$is_ns <- out$group == NS
  finish(out)
}

# the rank, service band and area on the month of an event: the posting with the most days in
# post that month (then the lowest posting id)
as_at_month <- function(ids, dates) {
  m1 <- month_of(dates); m2 <- sapply(m1, function(m) as.numeric(last_day(m)))
  res <- data.frame(rank = rep("Not in post", length(ids)), service_band = "Not in post")
  by_person <- split(seq_len(nrow(pieces)), pieces$person_id)
  for (i in seq_along(ids)) {
    rows <- by_person[[ids[i]]]
    if (is.null(rows)) next
    pc <- pieces[rows, ]
    a <- pmax(as.numeric(pc$from), as.numeric(m1[i])); b <- pmin(as.numeric(pc$to), m2[i])
    ok <- b >= a
    if (!any(ok)) next
    pc <- pc[ok, ]; days <- (b - a)[ok]
    o <- order(-days, pc$posting_id)[1]
    res$rank[i] <- pc$rank[o]; res$service_band[i] <- pc$service_band[o]
  }
  res
}

run <- function(fs) {
  ch <- if (is.na(fs$characteristic)) "ethnicity_group" else fs$characteristic
  w <- window(fs); lo <- w$lo; hi <- w$hi
  ref <- REF[[ch]]
  res <- list()
  add <- function(name, d) { d$table <- name; res[[length(res) + 1]] <<- d }
  if (nzchar(Sys.getenv("PARITY_TRACE"))) message("filter set ", fs$name)

  mis$month <- month_of(mis$referral_date)
  grv$raised_month <- month_of(grv$raised_date); grv$closed_month <- month_of(grv$outcome_date)
  act$month <- month_of(act$decision_date)

  add("grievance_rates", finish(rate_table(fs, ch, grv, grv$raised_month, lo, hi)))
  add("misconduct_rates", finish(rate_table(fs, ch, mis, mis$month, lo, hi)))

  # every financial year the period touches, one family across years and groups
  fys <- financial_years(lo, hi)
  tr <- do.call(rbind, lapply(fys, function(y) { d <- rate_table(fs, ch, mis, mis$month, y$lo, y$hi); d$stage <- y$label; d$fy <- y$fy; d }))
  add("misconduct_trend", finish(tr))

  # trend in the rate ratio: period + group + group x period (linear), Poisson, person-years offset
  cells <- tr[tr$n >= 0, ]
  cells$exposure <- sapply(seq_len(nrow(tr)), function(i) {
    y <- fys[[match(tr$fy[i], sapply(fys, `[[`, "fy"))]]
    pt <- person_time(fs, y$lo, y$hi); sum(pt$days[char_of(pt$person_id, ch) == tr$group[i]]) / 365.25 })
  cells <- cells[cells$exposure > 0, ]
  crude <- aggregate(cbind(events, exposure) ~ group, data = cells, FUN = sum)
  crude <- crude[order(crude$group), ]
  tt <- data.frame(group = crude$group, n = round(crude$exposure), events = crude$events, rate = crude$events / crude$exposure)
  ci <- t(sapply(seq_len(nrow(crude)), function(i) poisson.test(crude$events[i], crude$exposure[i])$conf.int[1:2]))
  tt$ci_low <- ci[, 1]; tt$ci_high <- ci[, 2]
  tt$ratio <- tt$ratio_ci_low <- tt$ratio_ci_high <- tt$p_value <- NA_real_
  fc <- cells[!cells$group %in% crude$group[crude$events == 0], ]
  fy_events <- tapply(fc$events, fc$fy, sum)
  fc <- fc[fc$fy %in% as.integer(names(fy_events)[fy_events > 0]), ]
  fc$group <- relevel(factor(fc$group), ref); fc$period <- fc$fy
  others <- setdiff(levels(fc$group), ref)
  slope <- paste0("trend_", make.names(others))  # group x period (linear), one column per group
  for (j in seq_along(others)) fc[[slope[j]]] <- (fc$group == others[j]) * fc$period
  fit <- glm(as.formula(paste("events ~ factor(period) + group +", paste(slope, collapse = " + "))),
             offset = log(exposure), family = poisson, data = fc, control = glm.control(epsilon = 1e-12, maxit = 200))
  disp <- sum(residuals(fit, type = "pearson")^2) / fit$df.residual
  co <- summary(fit, dispersion = if (disp > 1.5) disp else 1)$coefficients
  for (j in seq_along(others)) {
    b <- co[slope[j], 1]; se <- co[slope[j], 2]; i <- match(others[j], tt$group)
    tt$ratio[i] <- exp(b); tt$ratio_ci_low[i] <- exp(b - Z * se); tt$ratio_ci_high[i] <- exp(b + Z * se)
    tt$p_value[i] <- 2 * pnorm(-abs(b / se))
  }
  tt$is_ref <- tt$group == ref; tt$is_ns <- tt$group == NS
  add("misconduct_trend_test", finish(tt))

  # every business area x group, one family
  areas <- sort(unique(c(person_time(fs, lo, hi)$area, events_in(mis, mis$month, fs, lo, hi)$business_area_code)))
  ad <- do.call(rbind, lapply(areas, function(a) {
    fa <- fs; fa$area <- a
    pt <- person_time(fa, lo, hi); e <- events_in(mis, mis$month, fa, lo, hi)
    expo <- tapply(pt$days, char_of(pt$person_id, ch), sum) / 365.25; cnt <- table(char_of(e$person_id, ch))
    groups <- sort(union(names(expo), names(cnt)))
    d <- rate_rows(groups, as.numeric(ifelse(is.na(cnt[groups]), 0, cnt[groups])),
                   as.numeric(ifelse(is.na(expo[groups]), 0, expo[groups])), ref)
    d$business_area_code <- a; d }))
  add("misconduct_area_disparity", finish(ad))

  closed <- function(x) !is.na(x$outcome)
  upheld <- function(x) x$outcome %in% c("UPHELD", "PARTLY_UPHELD")
  add("grievance_outcomes", finish(prop_table(fs, ch, grv, grv$closed_month, closed, upheld, lo, hi)))
  add("grievance_discrimination_outcomes", finish(prop_table(fs, ch, grv, grv$closed_month,
      function(x) closed(x) & startsWith(x$category, "DISCRIM_"), upheld, lo, hi)))
  add("grievance_bullying_outcomes", finish(prop_table(fs, ch, grv, grv$closed_month,
      function(x) closed(x) & x$category %in% c("BULLYING", "HARASSMENT", "SEXUAL_HARASSMENT"), upheld, lo, hi)))
  add("grievance_independent_assessor", finish(mh_table(fs, ch, grv, grv$raised_month,
      function(x) x$assessor_type == "INDEPENDENT", lo, hi)))
  add("acting_up_rationale", finish(mh_table(fs, ch, act, act$month, function(x) x$has_rationale == "Y", lo, hi)))
  add("acting_up", finish(prop_table(fs, ch, act, act$month, function(x) rep(TRUE, nrow(x)),
                                     function(x) x$outcome == "SELECTED", lo, hi)))

  # misconduct decision points: decided cases only, open cases pending
  m <- events_in(mis, mis$month, fs, lo, hi)
  g <- char_of(m$person_id, ch)
  inv <- m$is_investigated == "Y"
  route_decided <- !is.na(m$route) | !is.na(m$outcome)
  meet <- inv & m$route %in% c("MISCONDUCT_MEETING", "GROSS_MISCONDUCT_HEARING")
  sanc <- meet & m$outcome %in% c("WRITTEN_WARNING", "FINAL_WRITTEN_WARNING", "REDUCTION_IN_RANK", "DISMISSAL")
  out_decided <- !is.na(m$outcome)
  step <- function(prev, decided, done) {
    groups <- sort(unique(g))
    data.frame(group = groups, n = sapply(groups, function(x) sum(g == x & prev & decided)),
               events = sapply(groups, function(x) sum(g == x & prev & decided & done)),
               n_pending = sapply(groups, function(x) sum(g == x & prev & !decided)))
  }
  add("misconduct_stages", stage_table(list("Investigated" = step(rep(TRUE, nrow(m)), !is.na(m$is_investigated), inv),
                                            "Meeting or hearing" = step(inv, route_decided, meet),
                                            "Sanction" = step(meet, out_decided, sanc)), ref))

  # recruitment: applications in progress (made within 365 days of the extract date, not joined)
  if (ch %in% c("ethnicity_group", "sex")) {
    a <- apps[month_of(apps$applied_date) >= lo & month_of(apps$applied_date) <= hi, ]
    ag <- if (ch == "sex") label("sex", a$sex) else codes$group_label[codes$code_list == "ethnicity"][
      match(a$ethnicity_code, codes$code[codes$code_list == "ethnicity"])]
    rank <- match(a$furthest_stage, c("APPLIED", "SIFT", "ASSESSMENT", "VETTING", "MEDICAL", "OFFER", "JOINED"))
    prog <- rank < 7 & a$applied_date > EXTRACT - 365
    stages <- c("Passed sift", "Passed assessment centre", "Passed vetting", "Passed medical", "Offered a place", "Joined")
    groups <- sort(unique(ag))
    lst <- list()
    for (k in 2:7) lst[[stages[k - 1]]] <- data.frame(
      group = groups, n = sapply(groups, function(x) sum(ag == x & rank >= k - 1 & (rank >= k | !prog))),
      events = sapply(groups, function(x) sum(ag == x & rank >= k)),
      n_pending = sapply(groups, function(x) sum(ag == x & rank == k - 1 & prog)))
    add("recruitment_funnel", stage_table(lst, ref))
    o <- do.call(rbind, lapply(list(c("Heard via Outreach", "heard_via_outreach"), c("Spoke only to Outreach", "spoke_only_to_outreach")), function(s) {
      n <- as.numeric(table(ag)[groups]); e <- sapply(groups, function(x) sum(ag == x & a[[s[2]]] == "Y"))
      d <- prop_rows(groups, n, e, ref); d$stage <- s[1]; d }))
    add("outreach", finish(o))
  }

  add("grievance_resolution", km_table(fs, ch, lo, hi))

  # business areas against the force: exact Poisson test of each area's count at the force rate
  ptf <- person_time(fs, lo, hi, use_area = FALSE)
  ex <- tapply(ptf$days, ptf$area, sum) / 365.25
  ge <- events_in(grv, grv$raised_month, fs, lo, hi, use_area = FALSE)
  cnt <- table(ge$business_area_code)
  areas <- sort(names(ex))
  k <- as.numeric(ifelse(is.na(cnt[areas]), 0, cnt[areas])); x <- as.numeric(ex[areas])
  theta <- sum(k) / sum(x)
  fu <- data.frame(group = areas, n = round(x), events = k, rate = k / x)
  ci <- t(sapply(seq_along(areas), function(i) poisson.test(k[i], x[i])$conf.int[1:2]))
  fu$ci_low <- ci[, 1]; fu$ci_high <- ci[, 2]
  fu$ratio <- fu$rate / theta; fu$ratio_ci_low <- fu$ci_low / theta; fu$ratio_ci_high <- fu$ci_high / theta
  mu <- theta * x
  fu$p_value <- pmin(1, 2 * pmin(ppois(k, mu), ppois(k - 1, mu, lower.tail = FALSE)))
  fu$is_ref <- FALSE; fu$is_ns <- FALSE
  add("grievance_funnel", finish(fu))

  # officers in post on each financial year's last day (31 March; the extract date this year)
  fy_all <- sort(unique(fy_of(MONTHS)))
  rep_rows <- list()
  for (fy in fy_all) {
    last_m <- max(MONTHS[fy_of(MONTHS) == fy])
    if (last_m < lo || last_m > hi) next
    on <- min(last_day(last_m), EXTRACT)
    pc <- pieces[pieces$from <= on & pieces$to >= on & pieces$worker_type_code == "OFFICER", ]
    if (!is.na(fs$area)) pc <- pc[pc$area == fs$area, ]
    pc <- pc[!duplicated(pc$person_id), ]
    lab <- if (on >= as.Date(sprintf("%d-03-31", fy + 1))) fy_name(fy) else
      sprintf("%s to date (at %d %s %d)", fy_name(fy), as.integer(format(on, "%d")), mon(on), yr(on))
    rep_rows[[length(rep_rows) + 1]] <- share_rows(table(pc$ethnicity_group), lab, on, "OFFICER_REPRESENTATION")
  }
  rp <- do.call(rbind, rep_rows); rp$is_ref <- FALSE; rp$is_ns <- FALSE
  add("representation", rp)

  # officer joiners by joining date, inside the period
  rs_rows <- list()
  for (y in fys) {
    on <- min(last_day(y$hi), EXTRACT)
    j <- people[people$worker_type == "OFFICER" & people$join_date >= y$lo & people$join_date <= on, ]
    if (!nrow(j)) next
    rs_rows[[length(rs_rows) + 1]] <- share_rows(table(j$ethnicity_group), y$label, on, "RECRUIT_SHARE")
  }
  rs <- do.call(rbind, rs_rows); rs$is_ref <- FALSE; rs$is_ns <- FALSE
  add("recruit_share", rs)

  # the odds of a grievance being upheld, adjusted for category (binomial GLM)
  gc <- events_in(grv, grv$closed_month, fs, lo, hi); gc <- gc[!is.na(gc$outcome), ]
  cells <- aggregate(cbind(n = 1, events = as.integer(upheld(gc))) ~ group + category,
                     data = data.frame(group = char_of(gc$person_id, ch), category = label("grievance_category", gc$category),
                                       upheld = upheld(gc)), FUN = sum)
  cr <- aggregate(cbind(n, events) ~ group, data = cells, FUN = sum)
  cr <- cr[order(cr$group), ]; cr$rate <- cr$events / cr$n
  ci <- t(sapply(seq_len(nrow(cr)), function(i) wilson(cr$events[i], cr$n[i]))); cr$ci_low <- ci[, 1]; cr$ci_high <- ci[, 2]
  add("grievance_upheld_adjusted", glm_rows(cells, "category", ref, "binomial", cr))

  # misconduct referral rate ratios adjusted for rank, service band and area (Poisson GLM)
  covs <- c("rank", "service_band", if (is.na(fs$area)) "area")
  pt <- person_time(fs, lo, hi)
  pt$group <- char_of(pt$person_id, ch)
  ex <- aggregate(as.formula(paste("days ~", paste(c("group", covs), collapse = " + "))), data = pt, FUN = sum)
  ex$exposure <- ex$days / 365.25; ex$days <- NULL
  me <- events_in(mis, mis$month, fs, lo, hi)
  at <- as_at_month(me$person_id, me$referral_date)
  evd <- data.frame(group = char_of(me$person_id, ch), rank = at$rank, service_band = at$service_band,
                    area = me$business_area_code, events = 1)
  ev <- aggregate(as.formula(paste("events ~", paste(c("group", covs), collapse = " + "))), data = evd, FUN = sum)
  cells <- merge(ex, ev, all = TRUE)
  cells$events[is.na(cells$events)] <- 0; cells$exposure[is.na(cells$exposure)] <- 0
  cells <- cells[cells$exposure > 0, ]
  cr <- aggregate(cbind(events, exposure) ~ group, data = cells, FUN = sum)
  cr <- cr[order(cr$group), ]
  cr2 <- data.frame(group = cr$group, n = round(cr$exposure), events = cr$events, rate = cr$events / cr$exposure)
  ci <- t(sapply(seq_len(nrow(cr)), function(i) poisson.test(cr$events[i], cr$exposure[i])$conf.int[1:2]))
  cr2$ci_low <- ci[, 1]; cr2$ci_high <- ci[, 2]
  add("misconduct_adjusted", glm_rows(cells, covs, ref, "poisson", cr2))

  # 'Not stated' shares among people in post at the end of the period
  on <- min(last_day(hi), EXTRACT)
  pc <- pieces[pieces$from <= on & pieces$to >= on, ]
  if (!is.na(fs$area)) pc <- pc[pc$area == fs$area, ]
  if (!is.na(fs$worker_type)) pc <- pc[pc$worker_type == fs$worker_type, ]
  pp <- people[match(unique(pc$person_id), people$person_id), ]
  ns <- list(ethnicity_group = pp$ethnicity_code, disability = pp$disability, gender_reassignment = pp$gender_reassignment,
             marital_status = pp$marital_status, pregnancy_maternity = pp$pregnancy_maternity,
             caring_responsibilities = pp$caring_responsibilities, religion = pp$religion,
             sexual_orientation = pp$sexual_orientation)
  nsd <- do.call(rbind, lapply(names(ns), function(cname) {
    k <- sum(ns[[cname]] == "NS"); n <- length(ns[[cname]]); ci <- wilson(k, n)
    data.frame(stage = cname, group = NS, n = n, events = k, rate = k / n, ci_low = ci[1], ci_high = ci[2]) }))
  nsd$is_ref <- FALSE; nsd$is_ns <- TRUE
  add("not_stated", nsd)

  cols <- c("table", "stage", "business_area_code", "group", "n", "events", "rate", "ci_low", "ci_high", "ratio",
            "ratio_ci_low", "ratio_ci_high", "p_value", "p_adjusted", "median_days", "median_ci_low",
            "median_ci_high", "n_pending", "target_share", "interval_note")
  do.call(rbind, lapply(res, function(d) {
    for (cn in cols) if (!cn %in% names(d)) d[[cn]] <- NA
    d[, cols]
  }))
}

all <- do.call(rbind, lapply(seq_len(nrow(fsets)), function(i) {
  d <- run(fsets[i, ])
  cbind(filter_set = fsets$name[i], d)
}))
write.csv(all, out_path, row.names = FALSE, na = "")
