"""The planted effects, as numbers (sample_data/README.md documents each; effects=False sets every
one to "alike"), and the rates the workforce is simulated with."""

from __future__ import annotations

import numpy as np

MISCONDUCT_BASE = np.array([0.045, 0.012, 0.025, 0.015])  # referrals per person-year, by worker type
MISCONDUCT_BASE_NO_EFFECTS = 0.035
MISCONDUCT_RANK_FACTOR = np.array([1.0, 0.85, 0.7, 0.6, 0.5, 0.5, 0.5,
                                   1.0, 1.0, 0.9, 0.8, 0.7, 0.6, 1.0, 1.0])
SERVICE_BANDS = np.array([2.0, 5.0, 10.0, 20.0])  # complete years: 0-1, 2-4, 5-9, 10-19, 20+
MISCONDUCT_SERVICE_FACTOR = np.array([1.4, 1.2, 1.0, 0.85, 0.75])
RR_2016 = 2.0  # every non-White group vs White, FY2016/17
RR_2022 = np.array([1.0, 1.55, 1.8, 1.4, 1.5, 1.0])  # by GROUPS, FY2022/23 on; linear in between
P_INVESTIGATED = 0.45
RRI_INVESTIGATED_BLACK = 1.25
P_FAILED_TO_REPORT = 0.07
GRIEVANCE_RATE = 0.0065  # per person-year overall
GRIEVANCE_SEX_FACTOR = np.array([1.5, 1.0])  # F, M
GRIEVANCE_GROUP_FACTOR = np.array([1.0, 1.5, 2.0, 1.4, 1.0, 1.0])
GRIEVANCE_OUTLIER_AREA, GRIEVANCE_OUTLIER_FACTOR = "NE", 2.5
UPHELD_DISCRIM = np.array([0.40, 0.40, 0.20, 0.40, 0.40, 0.40])  # share of closed, by group
UPHELD_OTHER = 0.30
P_WITHDRAWN, P_RESOLVED_INFORMALLY = 0.08, 0.15
GRIEVANCE_MEDIAN_DAYS, GRIEVANCE_BLACK_DAYS_FACTOR = 68.0, 1.4
PASS_RATES = np.array([0.60, 0.50, 0.85, 0.92, 0.90, 0.85])  # sift .. joined, given the stage before
ASSESSMENT_BLACK_FACTOR, VETTING_ASIAN_FACTOR = 0.75, 0.85
HEARD_VIA_OUTREACH = np.array([0.15, 0.35, 0.45, 0.35, 0.30, 0.15])
SPOKE_ONLY_BLACK_F, SPOKE_ONLY_MINORITY, SPOKE_ONLY_WHITE = 0.27, 0.10, 0.04
LEAVE_RATE = np.array([0.060, 0.075, 0.11, 0.15])  # per year, by worker type, before retirement
LEAVE_MINORITY_FACTOR = 1.15  # officers
RETIREMENT_AGE = np.array([60, 66, 65, 65])
ACTING_RATE = np.array([0.05, 0.10, 0.10, 0, 0, 0, 0, 0.04, 0.04, 0.04, 0, 0, 0, 0, 0])
SELECTION_RATE = np.array([0.50, 0.42, 0.35, 0.45, 0.45, 0.50])

# Joiner minority share (Asian+Black+Mixed+Other among stated) by financial year, officers.
JOINER_MINORITY_FY2016, JOINER_MINORITY_FY2025 = 0.12, 0.25
