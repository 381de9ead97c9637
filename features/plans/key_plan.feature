Feature: A key customer gets a plan to grow it
  A key customer has high potential: one of the best by recency, frequency and spend, or with a
  promising lifetime value. The nightly tier recompute notices when a customer becomes key and
  opens a key plan for it. A manager names the account manager, who sets a growth target,
  visits the customer every quarter, offers value-added services and records which ones the
  customer takes up. Once a year the plan asks whether the customer could become strategic.
  When the customer leaves the tier, the plan is handed over. Every step lands in the plan's and
  the customer's histories, which an auditor can verify.

  Background:
    Given it is Monday 2 March 2026, 09:00 UTC
    And the account team: manager "max", account managers "kim" and "kai", agent "ann", auditor "zoe"

  Scenario: A customer who becomes key gets a key plan, and only one
    Given the shop's 300 other customers bought as usual from March 2024 to February 2026
    And customer "K-200", Lindner Bikes, ordered for 40.00 every 3 weeks from 1 April 2024 to 20 January 2025
    And Lindner Bikes ordered for 20.00 on 2 June 2025, 3 November 2025 and 16 February 2026
    When the tiers are recomputed
    Then Lindner Bikes is in the "key" tier, by the rule "rfm-champion"
    And a key plan for Lindner Bikes waits for an account manager in the "plans" queue
    And the plan takes Lindner Bikes' 60.00 of purchases over the last 12 months as its baseline
    And Lindner Bikes's history says that becoming key opened the plan
    When the tiers are recomputed
    Then no plan is opened and none is moved
    And Lindner Bikes has 1 open key plan

  Scenario: The account manager sets a growth target, visits every quarter and offers services
    Given Lindner Bikes, customer "K-200", became key in this morning's recompute
    When 2 hours pass
    And "max" assigns "kim" as the account manager
    Then the plan is "planning" and assigned to "kim"
    And "kim" owns Lindner Bikes now
    When "kim" sets a growth target of 0.15
    Then the plan is "active", aiming for 0.15 more than its baseline of 60.00
    And its quarterly visit is due on Sunday 31 May 2026, 11:00 UTC and its promotion review on Tuesday 2 March 2027, 11:00 UTC
    When "kim" offers the value-added service "Fleet maintenance contract"
    And "kim" offers the value-added service "Mechanic training"
    And 2 weeks pass
    And "kim" records that the customer took up "Mechanic training"
    Then the services offered are "Fleet maintenance contract, Mechanic training" and those taken up "Mechanic training"
    When the worker runs on Sunday 31 May 2026, 10:59 UTC
    Then the plan is "active"
    When the worker runs on Sunday 31 May 2026, 11:00 UTC
    Then the plan is "visit_due"
    When 24 hours pass
    And "kim" records the visit: "New workshop in Leipzig; the fleet contract is back on the table"
    Then the plan is "active" after 1 visit
    And its quarterly visit is due on Saturday 29 August 2026, 11:00 UTC and its promotion review on Tuesday 2 March 2027, 11:00 UTC
    And an auditor finds every history intact

  Scenario: Once a year the plan asks whether the customer could become strategic
    Given "max" has opened a key plan for customer "K-300", Sattler Räder
    And "max" has assigned "kai" as the account manager
    And "kai" has set a growth target of 0.10
    When "kai" records each quarterly visit as it falls due, until Tuesday 2 March 2027, 09:00 UTC
    Then the plan is "active" after 4 visits
    And its quarterly visit is due on Wednesday 26 May 2027, 09:00 UTC and its promotion review on Tuesday 2 March 2027, 09:00 UTC
    When the worker runs on Tuesday 2 March 2027, 09:00 UTC
    Then the plan is "promotion_review"
    When "kai" tries to record the promotion review "recommend_strategic": "Orders doubled"
    Then it is refused because role "account_manager" may not fire it
    When "max" tries to record the promotion review "recommend_strategic" without saying why
    Then it is refused because it needs the field "promotion_notes"
    When "max" records the promotion review "recommend_strategic": "Orders doubled; ready for a dedicated account manager"
    Then the plan is "active" after 4 visits
    And its quarterly visit is due on Wednesday 26 May 2027, 09:00 UTC and its promotion review on Wednesday 1 March 2028, 09:00 UTC
    And the plan's history says the workflow asked for the promotion review by the timer "yearly_promotion_review"

  Scenario: Only a manager names the account manager, and the plan needs a sensible target
    Given "max" has opened a key plan for customer "K-400", Velo Nord
    When "kim" tries to assign "kim" as the account manager
    Then it is refused because role "account_manager" may not fire it
    When "ann" tries to assign "kim" as the account manager
    Then it is refused because role "agent" may not fire it
    When "zoe" tries to assign "kim" as the account manager
    Then it is refused because role "auditor" is read-only
    And the plan is "assigning" in the "plans" queue
    And nobody owns Velo Nord
    When "max" assigns "kim" as the account manager
    And "kim" tries to set up the plan without a growth target
    Then it is refused because it needs the field "growth_target"
    When "kim" tries to set a growth target of 12
    Then it is refused because the growth target is wrong: "12 is above the maximum 10"
    And the plan is "planning" and assigned to "kim"

  Scenario: Only an offered service can be taken up, none is offered twice, and visits wait for their time
    Given "max" has opened a key plan for customer "K-500", Pedalwerk
    And "max" has assigned "kai" as the account manager
    And "kai" has set a growth target of 0.05
    When "kai" tries to record that the customer took up "Bike leasing"
    Then it is refused by the guard "has(case.services_offered) && case.service in case.services_offered"
    When "kai" offers the value-added service "Bike leasing"
    And "kai" tries to offer the value-added service "Bike leasing" again
    Then it is refused by the guard "!has(case.services_offered) || !(case.service in case.services_offered)"
    And the services offered are "Bike leasing" and those taken up "none"
    When "kai" tries to record a visit before it is due: "Dropped by"
    Then it is refused because the plan is "active", where "record_visit" does not apply
    And the plan is "active" after 0 visits

  Scenario: A customer has one open key plan at a time, and must exist
    Given "max" has opened a key plan for customer "K-600", Radhaus Süd
    When "max" tries to open another key plan for customer "K-600"
    Then it is refused because Radhaus Süd already has an open key plan, the one opened before
    When "max" tries to open a key plan for customer "K-404", whom nobody has recorded
    Then it is refused because the customer is wrong: "there is no customer 'K-404'"

  Scenario: A key customer who becomes strategic is handed over to a strategic plan
    Given Lindner Bikes, customer "K-200", became key in this morning's recompute
    And "max" has assigned "kim" as the account manager
    And "kim" has set a growth target of 0.15
    And the other customers went on buying until February 2027
    And Lindner Bikes ordered for 20.00 on 4 May 2026 and 7 September 2026
    And Lindner Bikes ordered for 9,000.00 on 7 December 2026
    When the tiers are recomputed on Monday 1 March 2027, 09:00 UTC
    Then Lindner Bikes is in the "strategic" tier, by the rule "large-revenue-share"
    And the plan is "handing_over" in the "plans" queue
    And the plan's history says the workflow handed it over because the customer's tier changed
    And no visit and no promotion review is scheduled any more
    And a strategic plan for Lindner Bikes now waits for an account manager in the "plans" queue
    When "kim" finishes the hand-over: "Lindner Bikes gets a dedicated account manager"
    Then the plan is "ended" and in no queue

  Scenario: An auditor reads who did what to the plan and to the customer
    Given Lindner Bikes, customer "K-200", became key in this morning's recompute
    When 2 hours pass
    And "max" assigns "kim" as the account manager
    And "kim" sets a growth target of 0.15
    And "kim" offers the value-added service "Mechanic training"
    And "kim" records that the customer took up "Mechanic training"
    And the worker runs on Sunday 31 May 2026, 11:00 UTC
    And "kim" records the visit: "Training went well"
    And the other customers went on buying until February 2027
    And Lindner Bikes ordered for 9,000.00 on 7 December 2026
    And the tiers are recomputed on Monday 1 March 2027, 09:00 UTC
    And "kim" finishes the hand-over: "Lindner Bikes gets a dedicated account manager"
    Then the plan's history reads
      | event             | who      | role            | from         | to           | why                                 |
      | case.created      | casework | system          |              | assigning    | opened on customer.tier_changed     |
      | case.transitioned | max      | manager         | assigning    | planning     | assign_manager                      |
      | case.transitioned | kim      | account_manager | planning     | active       | set_target                          |
      | case.transitioned | kim      | account_manager | active       | active       | offer_service                       |
      | case.transitioned | kim      | account_manager | active       | active       | service_taken                       |
      | case.transitioned | casework | system          | active       | visit_due    | visit_due by timer quarterly_visit  |
      | case.transitioned | kim      | account_manager | visit_due    | active       | record_visit                        |
      | case.transitioned | casework | system          | active       | handing_over | hand_over on customer.tier_changed  |
      | case.transitioned | kim      | account_manager | handing_over | ended        | finish_hand_over                    |
    And the history of Lindner Bikes, leaving churn warnings aside, reads
      | event                 | who      | role    | what                           |
      | customer.tier_changed | casework | system  | none -> key                    |
      | customer.case_started | casework | system  | key_plan on tier_changed       |
      | customer.case_started | casework | system  | nps_survey on tier_changed     |
      | customer.updated      | max      | manager | owner: none -> kim             |
      | customer.tier_changed | casework | system  | key -> strategic               |
      | customer.case_moved   | casework | system  | key_plan: hand_over            |
      | customer.case_not_started | casework | system | nps_survey: an open nps_survey case |
      | customer.case_started | casework | system  | strategic_plan on tier_changed |
    And an auditor finds every history intact
