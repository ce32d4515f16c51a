"""Network stack: VPC tiers, endpoints, flow logs, security-group identities, the public ALB."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra_cdk.config import ALB_IDLE_TIMEOUT_SECONDS, BRIDGE_PORT, VPC_CIDR
from tests.infra.support import find, ingress_sources, logical_id_of, only, properties
from tests.infra.synth import PROD_CONTEXT, Synthesized


def _subnet_types(synth: Synthesized) -> list[str]:
    types = []
    for subnet in synth.resources("network", "AWS::EC2::Subnet").values():
        tags = {t["Key"]: t["Value"] for t in properties(subnet)["Tags"]}
        types.append(tags["aws-cdk:subnet-type"])
    return types


def test_vpc_has_public_private_and_isolated_subnets_in_two_azs(stage: Synthesized) -> None:
    stage.template("network").has_resource_properties("AWS::EC2::VPC", {"CidrBlock": VPC_CIDR})
    assert sorted(_subnet_types(stage)) == sorted(["Public", "Private", "Isolated"] * 2)


def test_dev_shares_one_nat_gateway_and_prod_has_one_per_az(dev: Synthesized, prod: Synthesized) -> None:
    dev.template("network").resource_count_is("AWS::EC2::NatGateway", 1)
    prod.template("network").resource_count_is("AWS::EC2::NatGateway", 2)


def test_secrets_manager_is_reached_through_a_private_interface_endpoint(stage: Synthesized) -> None:
    stage.template("network").has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {
            "ServiceName": "com.amazonaws.us-east-1.secretsmanager",
            "VpcEndpointType": "Interface",
            "PrivateDnsEnabled": True,
            "SubnetIds": Match.array_with([{"Ref": Match.string_like_regexp("privateSubnet1")}]),
        },
    )


def test_interface_endpoints_accept_https_from_the_vpc_only(stage: Synthesized) -> None:
    template = stage.template("network")
    endpoint_sg = {
        props["SecurityGroupIds"][0]["Fn::GetAtt"][0]
        for props in (properties(r) for r in find(template, "AWS::EC2::VPCEndpoint").values())
        if props["VpcEndpointType"] == "Interface"
    }
    (group,) = endpoint_sg
    assert ingress_sources(template, group) == [
        {"CidrIp": VPC_CIDR, "Description": "HTTPS from the VPC", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}
    ]


def test_prod_keeps_image_pulls_and_logs_off_the_nat_with_endpoints(prod: Synthesized) -> None:
    names = {properties(r)["ServiceName"] for r in prod.resources("network", "AWS::EC2::VPCEndpoint").values()
             if isinstance(properties(r)["ServiceName"], str)}
    assert {"com.amazonaws.us-east-1.ecr.api", "com.amazonaws.us-east-1.ecr.dkr",
            "com.amazonaws.us-east-1.logs"} <= names


def test_s3_is_a_free_gateway_endpoint_for_image_layers(stage: Synthesized) -> None:
    _, gateway = only(find(stage.template("network"), "AWS::EC2::VPCEndpoint", {"VpcEndpointType": "Gateway"}))
    assert ".s3" in str(properties(gateway)["ServiceName"])
    assert len(properties(gateway)["RouteTableIds"]) == 2  # the private subnets' route tables


def test_no_execute_api_endpoint_captures_the_http_api_hostname(stage: Synthesized) -> None:
    for endpoint in stage.resources("network", "AWS::EC2::VPCEndpoint").values():
        assert "execute-api" not in str(properties(endpoint)["ServiceName"])


def test_vpc_flow_logs_record_all_traffic_to_cloudwatch(stage: Synthesized) -> None:
    template = stage.template("network")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": Match.any_value()})


def test_default_security_group_is_stripped_of_rules(stage: Synthesized) -> None:
    stage.template("network").resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_load_balancer_is_public_with_an_idle_timeout_long_enough_for_call_websockets(stage: Synthesized) -> None:
    assert ALB_IDLE_TIMEOUT_SECONDS >= 300
    stage.template("network").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {
            "Scheme": "internet-facing",
            "Type": "application",
            "LoadBalancerAttributes": Match.array_with([
                {"Key": "idle_timeout.timeout_seconds", "Value": str(ALB_IDLE_TIMEOUT_SECONDS)},
                {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                {"Key": "access_logs.s3.enabled", "Value": "true"},
            ]),
        },
    )


def test_load_balancer_access_logs_go_to_a_private_tls_only_bucket(stage: Synthesized) -> None:
    template = stage.template("network")
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]},
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([Match.object_like({
            "Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        })])}},
    )


def test_prod_load_balancer_has_deletion_protection(prod: Synthesized, dev: Synthesized) -> None:
    protected = {"Key": "deletion_protection.enabled", "Value": "true"}
    prod.template("network").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer", {"LoadBalancerAttributes": Match.array_with([protected])}
    )
    dev.template("network").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        {"LoadBalancerAttributes": Match.array_with([{"Key": "deletion_protection.enabled", "Value": "false"}])},
    )


def test_load_balancer_accepts_only_its_listener_ports_and_forwards_only_to_the_bridge(prod: Synthesized) -> None:
    template = prod.template("network")
    alb_sg = logical_id_of(template, "AWS::EC2::SecurityGroup",
                           {"GroupDescription": "Public ALB in front of the realtime bridge"})
    bridge_sg = logical_id_of(template, "AWS::EC2::SecurityGroup",
                              {"GroupDescription": "Realtime bridge Fargate tasks"})
    assert sorted(r["FromPort"] for r in ingress_sources(template, alb_sg)) == [80, 443]
    egress = [properties(r) for r in find(template, "AWS::EC2::SecurityGroupEgress").values()
              if properties(r)["GroupId"] == {"Fn::GetAtt": [alb_sg, "GroupId"]}]
    assert len(egress) == 1
    assert egress[0]["DestinationSecurityGroupId"] == {"Fn::GetAtt": [bridge_sg, "GroupId"]}
    assert (egress[0]["FromPort"], egress[0]["ToPort"]) == (BRIDGE_PORT, BRIDGE_PORT)
    # No inline egress either, apart from CDK's "disallow all" placeholder.
    inline = properties(template.to_json()["Resources"][alb_sg]).get("SecurityGroupEgress", [])
    assert all(rule["CidrIp"] == "255.255.255.255/32" for rule in inline)


def test_bridge_tasks_accept_traffic_from_the_load_balancer_only(stage: Synthesized) -> None:
    template = stage.template("network")
    alb_sg = logical_id_of(template, "AWS::EC2::SecurityGroup",
                           {"GroupDescription": "Public ALB in front of the realtime bridge"})
    bridge_sg = logical_id_of(template, "AWS::EC2::SecurityGroup",
                              {"GroupDescription": "Realtime bridge Fargate tasks"})
    rules = ingress_sources(template, bridge_sg)
    assert len(rules) == 1
    assert rules[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": [alb_sg, "GroupId"]}
    assert (rules[0]["FromPort"], rules[0]["ToPort"]) == (BRIDGE_PORT, BRIDGE_PORT)


def test_prod_redirects_plain_http_to_https(prod: Synthesized) -> None:
    prod.template("network").has_resource_properties(
        "AWS::ElasticLoadBalancingV2::Listener",
        {"Port": 80, "DefaultActions": [{"Type": "redirect", "RedirectConfig": Match.object_like(
            {"Port": "443", "Protocol": "HTTPS", "StatusCode": "HTTP_301"})}]},
    )


def test_dev_without_a_certificate_opens_only_port_80(dev: Synthesized) -> None:
    template = dev.template("network")
    alb_sg = logical_id_of(template, "AWS::EC2::SecurityGroup",
                           {"GroupDescription": "Public ALB in front of the realtime bridge"})
    assert [r["FromPort"] for r in ingress_sources(template, alb_sg)] == [80]
    template.resource_count_is("AWS::ElasticLoadBalancingV2::Listener", 0)


def test_route53_alias_points_the_bridge_domain_at_the_load_balancer(prod: Synthesized, dev: Synthesized) -> None:
    _, record = only(prod.resources("network", "AWS::Route53::RecordSet"))
    assert properties(record)["Name"] == PROD_CONTEXT["domain"] + "."
    assert properties(record)["HostedZoneId"] == PROD_CONTEXT["hostedZoneId"]
    assert properties(record)["Type"] == "A"
    assert "DNSName" in properties(record)["AliasTarget"]
    dev.template("network").resource_count_is("AWS::Route53::RecordSet", 0)
