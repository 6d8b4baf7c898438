package entralog

import "strings"

// Known top-level keys and column names, normalized (see normKey). Graph
// camelCase, Log Analytics PascalCase and diagnostic-settings keys meet here
// because they differ only in case.
const (
	kID = iota
	kCorrelationID
	kCategory
	kType
	kTime
	kTimeGenerated
	kActivityDateTime
	kCreatedDateTime
	kActivityDisplayName
	kOperationName
	kOperationType
	kAADOperationType
	kLoggedByService
	kResult
	kResultReason
	kResultType
	kResultDescription
	kInitiatedBy
	kTargetResources
	kAdditionalDetails
	kUserAgent
	kCallerIPAddress
	kIPAddress
	kProperties
	kUserID
	kUserDisplayName
	kUserPrincipalName
	kAppID
	kAppDisplayName
	kAppOwnerTenantID
	kServicePrincipalID
	kServicePrincipalName
	kResourceDisplayName
	kResourceID
	kResourceIdentity
	kResourceTenantID
	kResourceOwnerTenantID
	kResourceServicePrincipalID
	kClientAppUsed
	kIsInteractive
	kStatus
	kStatusDynamic
	kStatusString
	kSignInEventTypes
	kAuthenticationDetails
	kManagedServiceIdentity
	// portal CSV (audit)
	kDateUTC
	kDate
	kService
	kActivity
	kActorType
	kActorDisplayName
	kActorObjectID
	kActorUPN
	kActorSPID
	kActorSPName
	kUserAgentSpaced
	// portal CSV (sign-in)
	kRequestID
	kCorrelationIDSpaced
	kUserIDSpaced
	kUser
	kUsername
	kApplication
	kApplicationID
	kAppOwnerTenantIDSpaced
	kResource
	kResourceIDSpaced
	kResourceTenantIDSpaced
	kResourceOwnerTenantIDSpaced
	kIPAddressSpaced
	kSignInErrorCode
	kFailureReason
	kClientApp
	kSPIDSpaced
	kSPNameSpaced
	kManagedIdentityType
	nKeys
)

var keyNames = [nKeys]string{
	kID:                          "id",
	kCorrelationID:               "correlationid",
	kCategory:                    "category",
	kType:                        "type",
	kTime:                        "time",
	kTimeGenerated:               "timegenerated",
	kActivityDateTime:            "activitydatetime",
	kCreatedDateTime:             "createddatetime",
	kActivityDisplayName:         "activitydisplayname",
	kOperationName:               "operationname",
	kOperationType:               "operationtype",
	kAADOperationType:            "aadoperationtype",
	kLoggedByService:             "loggedbyservice",
	kResult:                      "result",
	kResultReason:                "resultreason",
	kResultType:                  "resulttype",
	kResultDescription:           "resultdescription",
	kInitiatedBy:                 "initiatedby",
	kTargetResources:             "targetresources",
	kAdditionalDetails:           "additionaldetails",
	kUserAgent:                   "useragent",
	kCallerIPAddress:             "calleripaddress",
	kIPAddress:                   "ipaddress",
	kProperties:                  "properties",
	kUserID:                      "userid",
	kUserDisplayName:             "userdisplayname",
	kUserPrincipalName:           "userprincipalname",
	kAppID:                       "appid",
	kAppDisplayName:              "appdisplayname",
	kAppOwnerTenantID:            "appownertenantid",
	kServicePrincipalID:          "serviceprincipalid",
	kServicePrincipalName:        "serviceprincipalname",
	kResourceDisplayName:         "resourcedisplayname",
	kResourceID:                  "resourceid",
	kResourceIdentity:            "resourceidentity",
	kResourceTenantID:            "resourcetenantid",
	kResourceOwnerTenantID:       "resourceownertenantid",
	kResourceServicePrincipalID:  "resourceserviceprincipalid",
	kClientAppUsed:               "clientappused",
	kIsInteractive:               "isinteractive",
	kStatus:                      "status",
	kStatusDynamic:               "status_dynamic",
	kStatusString:                "status_string",
	kSignInEventTypes:            "signineventtypes",
	kAuthenticationDetails:       "authenticationdetails",
	kManagedServiceIdentity:      "managedserviceidentity",
	kDateUTC:                     "date (utc)",
	kDate:                        "date",
	kService:                     "service",
	kActivity:                    "activity",
	kActorType:                   "actortype",
	kActorDisplayName:            "actordisplayname",
	kActorObjectID:               "actorobjectid",
	kActorUPN:                    "actoruserprincipalname",
	kActorSPID:                   "actorserviceprincipalid",
	kActorSPName:                 "actorserviceprincipalname",
	kUserAgentSpaced:             "user agent",
	kRequestID:                   "request id",
	kCorrelationIDSpaced:         "correlation id",
	kUserIDSpaced:                "user id",
	kUser:                        "user",
	kUsername:                    "username",
	kApplication:                 "application",
	kApplicationID:               "application id",
	kAppOwnerTenantIDSpaced:      "app owner tenant id",
	kResource:                    "resource",
	kResourceIDSpaced:            "resource id",
	kResourceTenantIDSpaced:      "resource tenant id",
	kResourceOwnerTenantIDSpaced: "resource owner tenant id",
	kIPAddressSpaced:             "ip address",
	kSignInErrorCode:             "sign-in error code",
	kFailureReason:               "failure reason",
	kClientApp:                   "client app",
	kSPIDSpaced:                  "service principal id",
	kSPNameSpaced:                "service principal name",
	kManagedIdentityType:         "managed identity type",
}

var keyIDs = func() map[string]int {
	m := make(map[string]int, nKeys)
	for i, s := range keyNames {
		m[s] = i
	}
	return m
}()

// normKey appends the normalized form of a key or column name to dst:
// ASCII lower case, surrounding spaces trimmed, and a trailing "[UTC]"-style
// unit suffix removed ("CreatedDateTime [UTC]" -> "createddatetime").
func normKey(dst []byte, key string) []byte {
	key = strings.TrimSpace(strings.TrimPrefix(key, "\ufeff"))
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i > 0 {
			key = strings.TrimSpace(key[:i])
		}
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// keyID returns the known-key number of key, or -1.
func keyID(key string) int {
	var buf [64]byte
	b := normKey(buf[:0], key)
	if id, ok := keyIDs[string(b)]; ok {
		return id
	}
	return -1
}

// rec is one record (a JSON object or a CSV row as an object of strings)
// with an index of its known keys.
type rec struct {
	n  *node
	ix [nKeys]int32 // member index + 1; 0 when absent
	// keep selects the unmapped fields kept in Event.Extra (nil: all).
	keep *extraFilter
}

// index fills r.ix from r.n's member names; the first of repeated names wins.
func (r *rec) index() {
	r.ix = [nKeys]int32{}
	for i := range r.n.mem {
		m := &r.n.mem[i]
		if m.kid == 0 {
			m.kid = -1
			if id := keyID(m.key); id >= 0 {
				m.kid = int16(id + 1)
			}
		}
		if id := int(m.kid) - 1; id >= 0 && r.ix[id] == 0 {
			r.ix[id] = int32(i + 1)
		}
	}
}

// get returns the value of known key k and marks it used; nil if absent.
func (r *rec) get(k int) *node {
	if r == nil || r.n == nil {
		return nil
	}
	i := r.ix[k]
	if i == 0 {
		return nil
	}
	m := &r.n.mem[i-1]
	m.used = true
	return &m.val
}

// peek returns the value of known key k without marking it used.
func (r *rec) peek(k int) *node {
	if r == nil || r.n == nil {
		return nil
	}
	i := r.ix[k]
	if i == 0 {
		return nil
	}
	return &r.n.mem[i-1].val
}

// has reports whether known key k is present.
func (r *rec) has(k int) bool { return r != nil && r.n != nil && r.ix[k] != 0 }

// str returns the text of known key k, marking it used.
func (r *rec) str(k int) string {
	if n := r.get(k); n != nil {
		return n.text()
	}
	return ""
}

// name returns the key as written in the record for known key k.
func (r *rec) name(k int) string {
	if i := r.ix[k]; i != 0 {
		return r.n.mem[i-1].key
	}
	return keyNames[k]
}
