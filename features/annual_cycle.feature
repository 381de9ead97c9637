Feature: An account manager runs a managed customer's year
  Every strategic and key customer gets one annual management cycle a year. The account manager
  sets the year's goals, records what the customer needs and how we will meet it, carries the
  strategy out with a check-in every quarter, and evaluates the year against its goals once it
  is over; a manager may evaluate earlier. Evaluating measures the year from the purchases and
  complaints on record: sales growth against the year before, the mean satisfaction of the
  complaints closed in the year, the share of quarters with a purchase and the repeat-purchase
  rate, each next to its goal and how far it was attained. A year nobody evaluates is evaluated
  by the workflow on 15 January. An auditor reads who did what in a history that cannot be
  rewritten unnoticed.

  Background:
    Given it is Monday 5 January 2026, 09:00 UTC
    And account manager "amy", manager "max", agent "ann" and auditor "zoe" work the accounts
    And the rest of the customer base is every fourth customer of the CDNOW sample, their purchases moved 27 years on to 2024 and 2025
    And these enterprise customers bought in 2025
      | customer | name      | bought on                                      | each    |
      | C-100    | Northwind | 10 Feb, 12 May, 11 Aug, 10 Nov                 | 5000.00 |
      | C-200    | Contoso   | 16 Feb, 13 Apr, 15 Jun, 17 Aug, 12 Oct, 14 Dec | 25.00   |
      | C-300    | Fabrikam  | 3 Mar                                          | 15.00   |
      | C-400    | Globex    |                                                |         |
    And the tiers have been recomputed as of 31 December 2025

  Scenario: Each strategic and key customer gets one cycle a year, ordinary customers none
    Then the customers' tiers are
      | customer  | tier      |
      | Northwind | strategic |
      | Contoso   | key       |
      | Fabrikam  | ordinary  |
      | Globex    | ordinary  |
    When "max" runs "casework cycles start --year 2026 --json"
    Then every strategic and key customer has one 2026 cycle, waiting for its goals in the "account_management" queue
    And the cycles of Northwind and Contoso remember the tier each customer had: "strategic" and "key"
    And Fabrikam, Globex and every other ordinary customer have no cycle
    And Northwind's own history says its 2026 cycle was started because the year opened
    When "max" runs "casework cycles start --year 2026 --json" again
    Then nothing is opened, and every strategic and key customer is passed over: "has the 2026 cycle already"
    And every strategic and key customer still has exactly one 2026 cycle

  Scenario: Amy takes Northwind's year from its goals to closed, checking in every quarter
    Given the 2026 cycles have been opened
    When "amy" sets Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    Then Northwind's cycle is "analyzing"
    And Northwind's cycle is assigned to "amy"
    When 3 days pass
    And "amy" records Northwind's needs: "Next-day deliveries to the Hamburg plant"
    And 4 days pass
    And "amy" records Northwind's strategy: "Consolidated weekly shipments from the Bremen depot"
    Then Northwind's cycle is "executing"
    And Northwind's cycle waits for a check-in on Sunday 12 April 2026, 09:00 UTC and for the year's end on Friday 15 January 2027, 09:00 UTC
    When the worker runs on Saturday 11 April 2026, 09:00 UTC
    Then Northwind's cycle is "executing"
    When the worker runs on Sunday 12 April 2026, 09:00 UTC
    Then Northwind's cycle is "checkin_due"
    When 24 hours pass
    And "amy" records the check-in with Northwind: "On-time deliveries up from 81% to 96%"
    Then Northwind's cycle is "executing"
    And Northwind has held 1 check-in
    And Northwind's cycle waits for a check-in on Saturday 11 July 2026, 09:00 UTC and for the year's end on Friday 15 January 2027, 09:00 UTC
    When "amy" evaluates Northwind's year on Monday 11 January 2027, 09:00 UTC
    Then Northwind's cycle is "evaluating"
    When "amy" closes Northwind's year: "Growth beat the goal; keep the Bremen shipments"
    Then Northwind's cycle is closed, in no queue, with no timer left
    And an auditor finds every history intact

  Scenario: Evaluating measures the year from the purchases and complaints on record
    Northwind bought for 4 x 5,000.00 = 20,000.00 in 2025 and for 23,000.00 in 2026: sales grew
    by 0.15. It bought on four days of 2026 (the two lines of 11 May are one day), three of them
    after an earlier one: 0.75; in three of the four quarters (none in July to September): 0.75.
    The complaints closed in 2026 were rated 4 and 5: 4.5. The one closed in January 2027 counts
    for 2027, and the one still open for no year.
    Given the 2026 cycles have been opened
    And "amy" has set Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    And "amy" has recorded Northwind's needs and strategy
    And Northwind's complaints went like this
      | complained on                      | closed on                          | csat |
      | Monday 13 April 2026, 08:00 UTC    | Wednesday 15 April 2026, 10:00 UTC | 4    |
      | Monday 5 October 2026, 08:00 UTC   | Monday 12 October 2026, 10:00 UTC  | 5    |
      | Monday 14 December 2026, 08:00 UTC | Tuesday 5 January 2027, 10:00 UTC  | 3    |
      | Monday 21 December 2026, 08:00 UTC |                                    |      |
    And Northwind's 2026 purchases have been imported
      | date       | amount  |
      | 2026-01-20 | 6000.00 |
      | 2026-02-16 | 3000.00 |
      | 2026-05-11 | 5500.00 |
      | 2026-05-11 | 500.00  |
      | 2026-11-16 | 8000.00 |
    When "amy" evaluates Northwind's year on Monday 11 January 2027, 09:00 UTC
    Then Northwind's cycle is "evaluating"
    And Northwind's 2026 evaluation reads
      | kpi                  | goal | actual | attainment |
      | sales_growth         | 0.10 | 0.1500 | 1.5000     |
      | satisfaction         | 4.0  | 4.5000 | 1.1250     |
      | retention            | 1    | 0.7500 | 0.7500     |
      | repeat_purchase_rate | 0.80 | 0.7500 | 0.9375     |

  Scenario Outline: A goal must be a number within its bounds
    Given the 2026 cycles have been opened
    When "amy" tries to set Northwind's goals with a <goal> of "<value>"
    Then it is refused as invalid: <field> <problem>
    And Northwind's cycle is still "setting_goals", with no goal and nothing in its history but its opening

    Examples:
      | goal         | value | field             | problem                        |
      | sales growth | lots  | goal_sales_growth | 'lots' is not a decimal number |
      | satisfaction | 6     | goal_satisfaction | 6 is above the maximum 5       |

  Scenario: Only account management sets a customer's goals, and an auditor only reads
    Given the 2026 cycles have been opened
    When "ann" tries to set Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    Then it is refused for the role: "role 'agent' may not fire it (allowed: account_manager, manager)"
    When "zoe" tries to set Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    Then it is refused for the role: "role 'auditor' is read-only"
    And Northwind's cycle is still "setting_goals", with no goal and nothing in its history but its opening

  Scenario: An account manager evaluates the year only once it is over
    Given the 2026 cycles have been opened
    And "amy" has set Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    And "amy" has recorded Northwind's needs and strategy
    When "amy" tries to evaluate Northwind's year on Thursday 31 December 2026, 23:59 UTC
    Then it is refused by the guard 'now >= timestamp(string(case.year + 1) + "-01-01T00:00:00Z") || actor.role == "manager"'
    And Northwind's cycle is "executing"
    When "amy" evaluates Northwind's year on Friday 1 January 2027, 00:00 UTC
    Then Northwind's cycle is "evaluating"

  Scenario: A year nobody evaluates is evaluated by the workflow on 15 January
    The strategy was set in November, so the next check-in (31 January) falls after the year's
    end, and evaluating disarms it.
    Given the 2026 cycles have been opened
    And "amy" has set Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    And on Monday 2 November 2026, 09:00 UTC "amy" has recorded Northwind's needs and strategy
    And Northwind's 2026 purchases have been imported
      | date       | amount   |
      | 2026-03-02 | 18000.00 |
    When the worker runs on Friday 15 January 2027, 08:59 UTC
    Then Northwind's cycle is "executing"
    When the worker runs on Friday 15 January 2027, 09:00 UTC
    Then Northwind's cycle is "evaluating"
    And the history says the workflow evaluated Northwind's year by the timer "year_end"
    And Northwind's 2026 evaluation reads
      | kpi                  | goal | actual  | attainment |
      | sales_growth         | 0.10 | -0.1000 | -1.0000    |
      | satisfaction         | 4.0  |         |            |
      | retention            | 1    | 0.2500  | 0.2500     |
      | repeat_purchase_rate | 0.80 | 0.0000  | 0.0000     |
    When the worker runs on Monday 1 February 2027, 09:00 UTC
    Then Northwind's cycle is "evaluating"

  Scenario: An auditor reads who moved the year along and what it measured
    The manager evaluated before the year was over: what the year had not given yet (a rated
    complaint, a purchase) is measured as missing, and so is its attainment.
    Given the 2026 cycles have been opened
    And "amy" has set Northwind's goals: sales growth 0.10, satisfaction 4.0, retention 1, repeat purchases 0.80
    And "max" has recorded Northwind's needs and strategy
    And the worker has run on Sunday 5 April 2026, 09:00 UTC
    And "amy" has recorded the check-in with Northwind: "On track"
    And on Monday 14 December 2026, 09:00 UTC "max" has evaluated Northwind's year
    And "amy" has closed Northwind's year: "Evaluated early: the customer is moving its plant"
    When "zoe" reads the history of Northwind's 2026 cycle with "casework cases history --json"
    Then she reads
      | event              | who      | role            | from          | to            |
      | case.created       | casework | system          |               | setting_goals |
      | case.transitioned  | amy      | account_manager | setting_goals | analyzing     |
      | case.transitioned  | max      | manager         | analyzing     | strategizing  |
      | case.transitioned  | max      | manager         | strategizing  | executing     |
      | case.transitioned  | casework | system          | executing     | checkin_due   |
      | case.transitioned  | amy      | account_manager | checkin_due   | executing     |
      | case.transitioned  | max      | manager         | executing     | evaluating    |
      | case.kpis_measured | max      | manager         |               |               |
      | case.transitioned  | amy      | account_manager | evaluating    | closed        |
    And she reads that the 2026 measurement found
      | kpi                  | goal | actual  | attainment |
      | sales_growth         | 0.10 | -1.0000 | -10.0000   |
      | satisfaction         | 4.0  |         |            |
      | retention            | 1    | 0.0000  | 0.0000     |
      | repeat_purchase_rate | 0.80 |         |            |
    And an auditor finds every history intact
