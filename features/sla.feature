Feature: Service levels: complaints answered in time, or escalated to the right people
  Each complaint runs SLA clocks on business hours: the customer's tier and the severity set
  the targets and whose working hours count. Waiting for the customer stops the clock. A
  complaint running late climbs an escalation ladder, one notice per level, never twice.

  Background:
    Given the service desk: agent "ann", supervisor "sam", account manager "kim", manager "max"

  Scenario: A critical complaint of a strategic customer breaches at the right business minute
    Strategic customers get the extended service hours (Monday to Saturday, 07:00-22:00 in
    Berlin). Eight business hours from Saturday 20:00 are two on Saturday; Sunday is closed,
    Easter Monday is a holiday, and summer time begins that weekend; six more on Tuesday.
    Given it is Saturday 27 March 2027, 20:00 in Berlin
    And strategic customer "S-1" has complained by phone: "Our production line is down"
    When "sam" triages it as a "technical" complaint of "critical" severity
    And "sam" sends the first response: "An engineer is on the way"
    Then its resolution clock is due on Tuesday 30 March 2027, 13:00 in Berlin
    When the worker runs on Tuesday 30 March 2027, 12:59 in Berlin
    Then its resolution clock is "warning"
    When the worker runs on Tuesday 30 March 2027, 13:00 in Berlin
    Then its resolution clock is "breached"
    And the history records the breach at Tuesday 30 March 2027, 13:00 in Berlin
    And an auditor finds every history intact

  Scenario: Waiting for the customer pauses the resolution clock
    Given it is Monday 2 March 2026, 09:00 UTC
    And ordinary customer "C-1" has complained by email: "The invoice is wrong"
    And "ann" has triaged it as a "billing" complaint of "high" severity
    When 2 hours pass
    And "ann" asks the customer: "Which invoice do you mean?"
    Then its resolution clock is "paused" after 2 business hours
    When 3 days pass
    And the worker runs
    Then no notice has been sent
    When "ann" records the customer's answer: "INV-7"
    Then its resolution clock is "running" after 2 business hours
    And its resolution clock is due on Wednesday 11 March 2026, 10:00 in Berlin

  Scenario: The escalation ladder notifies the right people once per level
    A key customer's complaint: the account managers hear of it at 80% of its 40 business
    hours, the supervisors at the breach, the managers at 150%; ann, whose case it is, hears
    of the warning and of the breach too.
    Given it is Monday 2 March 2026, 09:00 UTC
    And key customer "K-1" has complained by web: "The delivery is three weeks late"
    And "ann" has triaged it as a "after_sales" complaint of "medium" severity
    And "ann" has sent the first response: "We are chasing the carrier"
    When the worker runs every hour until Friday 20 March 2026, 18:00 UTC
    Then the outbox holds exactly
      | to  | about                                  |
      | kim | complaint case 1: resolution at risk   |
      | ann | complaint case 1: resolution at risk   |
      | sam | complaint case 1: resolution breached  |
      | ann | complaint case 1: resolution breached  |
      | max | complaint case 1: resolution breached  |
    And the history shows escalation levels 1, 2 and 3 at
      | level | when                                 |
      | 1     | Thursday 5 March 2026, 12:00 in Berlin |
      | 2     | Friday 6 March 2026, 10:00 in Berlin   |
      | 3     | Tuesday 10 March 2026, 10:00 in Berlin |
    And the complaint's priority is "urgent"
