Feature: Account managers try to keep customers who are drifting away
  When a strategic or key customer's churn risk turns high (rules/churn_risk.yaml), the tier
  recompute opens a retention case for them, never a second one while one is open. The account
  manager contacts the customer, makes an offer and records the outcome: a retained customer's
  record is active again, a lost one's is marked lost, with the reason why. A case nobody has
  contacted within ten business days goes to the least-loaded manager.

  Background:
    Given it is Monday 2 March 2026, 09:00 UTC
    And account manager "kim", managers "max" and "mia" and agent "ann" work on retention

  Scenario: A churn warning opens one retention case per customer, and no second while it is open
    Given the CDNOW sample has been imported
    When the tiers are recomputed as of 30 June 1998
    Then the 298 strategic and key customers at high churn risk have one retention case each
    And customer "00004" has one retention case, "at_risk" in the "retention" queue, for a "key" customer silent for 200 days
    And customer "00004"'s history says its churn risk turned "high" by row "managed-and-silent", which started that case
    When customer "00004" buys again on 15 July 1998
    And the tiers are recomputed as of 31 July 1998
    Then customer "00004"'s churn risk is "low"
    When the tiers are recomputed as of 28 February 1999
    Then customer "00004"'s churn risk is "high"
    And customer "00004" still has that one retention case
    And no customer has more than one retention case
    And an auditor finds every history intact

  Scenario: A retention case cannot be opened twice by hand either
    Given active key customer "K-0" has a retention case
    When "kim" tries to open another retention case for customer "K-0"
    Then it is refused as invalid: "customer 'K-0' already has an open retention case"

  Scenario: A customer who accepts the offer stays, and the record is active again
    Given dormant key customer "K-1" has a retention case
    When "kim" records the contact: "Unhappy with delivery times since the spring"
    Then the retention case is "contacted" in the "retention" queue and assigned to "kim"
    When "kim" offers a service: "Next-day delivery at no charge for a year"
    Then the retention case is "offered" in the "retention" queue and assigned to "kim"
    When "kim" records that the customer stays
    Then the retention case is closed with the outcome "retained"
    And customer "K-1" is "active"

  Scenario: A lost customer is marked lost, but only with the reason why
    Given active strategic customer "S-2" has a retention case
    And "kim" has recorded the contact: "They moved their purchasing to a competitor"
    When "kim" tries to record the customer lost without a reason
    Then it is refused because it needs the field "lost_reason"
    And the retention case is "contacted" in the "retention" queue and assigned to "kim"
    And customer "S-2" is "active"
    When "kim" records the customer lost: "Taken over by a group with a central supplier"
    Then the retention case is closed with the outcome "lost"
    And customer "S-2" is "lost"

  Scenario: Only account managers and managers work a retention case, in order
    Given active key customer "K-3" has a retention case
    When "ann" tries to record the contact: "Called, they are fine"
    Then it is refused because role "agent" may not fire it, only "account_manager, manager"
    When "kim" tries to record that the customer stays before anyone has called
    Then it is refused because the case is still "at_risk"
    And the retention case is "at_risk" in the "retention" queue and assigned to nobody
    When "max" records the contact: "Called, they are reorganising their purchasing"
    Then the retention case is "contacted" in the "retention" queue and assigned to "max"

  Scenario: A case nobody contacts within ten business days goes to the least-loaded manager
    Ten business days on the office calendar (Berlin, Monday to Friday): Good Friday and Easter
    Monday do not count. "max" is busy with another case, so "mia" gets it, once.
    Given key customer "K-4" has had a retention case since Monday 30 March 2026, 09:00 UTC
    And "max" has taken on the retention case of key customer "K-5"
    When the worker runs on Wednesday 15 April 2026, 10:59 in Berlin
    Then the retention case is "at_risk" in the "retention" queue and assigned to nobody
    And its field "reminders" is "0"
    When the worker runs on Wednesday 15 April 2026, 11:00 in Berlin
    Then the retention case is "at_risk" in the "retention" queue and assigned to "mia"
    And its field "reminders" is "1"
    And the history says the workflow escalated it by the timer "uncontacted"
    When the worker runs on Monday 4 May 2026, 11:00 in Berlin
    Then its field "reminders" is "1"

  Scenario: A case contacted in time is not escalated
    Given active key customer "K-6" has a retention case
    When 9 days pass
    And "kim" records the contact: "Budget freeze until the summer"
    And the worker runs on Monday 16 March 2026, 12:00 UTC
    Then the retention case is "contacted" in the "retention" queue and assigned to "kim"
    And its field "reminders" is "0"

  Scenario: An auditor reads who did what to the case and to the customer's record
    Given active strategic customer "S-7" has a retention case
    And "kim" has recorded the contact: "The new CFO cut every supplier by half"
    And "kim" has offered a discount: "10% on every order this year"
    When 3 days pass
    And "kim" records the customer lost: "The discount was not enough"
    Then the retention case's moves read
      | event             | who | role            | from      | to        |
      | case.created      | kim | account_manager |           | at_risk   |
      | case.transitioned | kim | account_manager | at_risk   | contacted |
      | case.transitioned | kim | account_manager | contacted | offered   |
      | case.transitioned | kim | account_manager | offered   | closed    |
    And the auditor reads that the offer was a "discount" and the customer left because "The discount was not enough"
    And customer "S-7"'s history shows "kim" as account_manager setting its status from "active" to "lost" by "lost" on the retention case
    And the retention case records the same change of the customer
    And an auditor finds every history intact
