/*!
 * Copyright 2023 WPPConnect Team
 *
 * Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */
export { get } from './get';
export { getBusinessProfile } from './getBusinessProfile';
export { getCommonGroups } from './getCommonGroups';
export { getPnLidEntry, InvalidWidForGetPnLidEntry, PnLidContactInfo, PnLidEntryResult, PnLidWid, } from './getPnLidEntry';
export { getProfilePictureUrl } from './getProfilePictureUrl';
export { getStatus } from './getStatus';
export { getUsername, GetUsernameResult } from './getUsername';
export { ContactListOptions, list } from './list';
/**
 * @deprecated Use queryWidExists instead
 */
export { queryExists, QueryExistsResult } from './queryExists';
export { queryUsernameExists, QueryUsernameExistsKeyRequired, QueryUsernameExistsResult, } from './queryUsernameExists';
export { queryWidExists, QueryWidExistsResult } from './queryWidExists';
export { remove } from './remove';
export { reportContact, ReportContactResult } from './reportContact';
export { save } from './save';
export { subscribePresence } from './subscribePresence';
export { unsubscribePresence } from './unsubscribePresence';
